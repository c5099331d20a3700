# The example app of deploy/docker-compose.yaml, built from the repository root:
#   docker build -f deploy/example.Dockerfile -t otel-ai-example .
# deploy/example.Dockerfile.dockerignore keeps the build context to what the install needs.
FROM python:3.12.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY otel_ai ./otel_ai
COPY examples ./examples
RUN pip install ".[examples,serve]"

RUN useradd --create-home --uid 10001 app
USER app

EXPOSE 8000
CMD ["opentelemetry-instrument", "python", "examples/app.py"]
