"""The leak app: plants every kind of secret and personal datum in every place telemetry reads.

``tests/test_leaks.py`` runs this script under ``opentelemetry-instrument`` with content capture
and HTTP header capture on, exporting to the test OTLP receiver; it drives the real ``openai``
client against the bundled simulator, and the real ``elevenlabs`` client (where installed) against
the ElevenLabs simulator (both started here, in-process), and then the test checks that none of
the planted values reached the receiver in any form.

The table is two lists:

* ``KINDS``: one entry per kind of secret or personal datum the redactor knows (a generator of
  valid instances: keys with random bodies, Luhn-valid cards, mod-97-valid IBANs, ...), plus a
  few kinds only planted where their name tells what they are (``OPAQUE_KINDS``);
* ``PLACES``: one entry per place telemetry reads (a prompt, a tool-call argument, the model's
  output, an error body, a log message, a model name, a URL, a header, ...), each with the
  contexts it plants values in and the calls that put them there.

Every (place, context, kind) gets its own value, derived from a seed made of the three names, so
the test builds the same table with :func:`planted` without asking this process, and a leak
names its kind, place and context. Each place also writes ``canary-<place>`` next to its values:
the test requires every canary to arrive, so a place whose content is not captured at all
cannot pass silently.

Adding a provider: a module ``tests/support/leak_<name>.py`` next to this one, named in
``PROVIDERS``, with two functions:

* ``places(leak) -> tuple[Place, ...]``: ``leak`` is this module (use ``leak.Place``,
  ``leak.Ctx``, ``leak.planted_for``, ...; never import it: run as a script it would load twice).
  One :class:`Place` per place the provider's telemetry reads (prompts, tool calls, outputs, error
  bodies, model names, headers, the client's key, ...), each with ``needs=<name>`` and
  ``provider=<gen_ai.provider.name>``; ``run`` makes that provider's calls with :meth:`Ctx.blob` /
  :meth:`Ctx.value` and returns how many GenAI calls it made (the test counts that provider's spans).
* ``start(stack) -> Any | None``: starts the provider's simulator in ``stack`` and returns it
  (``None`` when its client library is not installed: its places are then skipped and listed).
  In ``run``, ``ctx.app.providers[<name>]`` is that simulator.

ElevenLabs (text to speech, dialogue, sound effects, speech to text, voice and model ids, error
bodies, headers, the client's key) is the worked example of the places a provider has.

Run alone (prints the planted table and the summary)::

    opentelemetry-instrument python tests/support/leak_app.py
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import inspect
import json
import logging
import os
import random
import string
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "CUSTOM_PATTERN",
    "KINDS",
    "OPAQUE_KINDS",
    "PLACES",
    "SUMMARY_PREFIX",
    "Kind",
    "Place",
    "Planted",
    "luhn_valid",
    "planted",
    "planted_for",
    "with_luhn",
]

SUMMARY_PREFIX = "LEAK_APP_SUMMARY "
CUSTOM_PATTERN = "internal-ref-[A-Z0-9]{12}"  # set as OTEL_AI_REDACT_PATTERNS by the test
MODEL = "gpt-4o-mini"
TOOL = "lookup_customer"
PIECE = 12  # no piece this long of a credential may be exported

_ALNUM = string.ascii_letters + string.digits
_UPPER_DIGITS = string.ascii_uppercase + string.digits
_HEX = "0123456789abcdef"
_KEY = _ALNUM + "-_"


# --------------------------------------------------------------------------------------------
# Kinds: valid, random instances of every format the redactor knows
# --------------------------------------------------------------------------------------------


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _digits(rng: random.Random, n: int, first: str = string.digits) -> str:
    return rng.choice(first) + _chars(rng, string.digits, n - 1)


def _random_body(rng: random.Random, alphabet: str, n: int, *, digit: bool = True) -> str:
    """A key body with at least one capital and one digit (or small letter), like every real random key."""
    body = list(_chars(rng, alphabet, n))
    body[rng.randrange(n)] = rng.choice(string.ascii_uppercase)
    body[rng.randrange(n)] = rng.choice(string.digits if digit else string.ascii_lowercase)
    return "".join(body)


def _pem(rng: random.Random) -> str:
    """A PEM private key as .env files and JSON hold one: one line, newlines written as backslash-n."""
    kind = rng.choice(("RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""))
    body = "\\n".join(_random_body(rng, _ALNUM + "+/", 64) for _ in range(3))
    return f"-----BEGIN {kind}PRIVATE KEY-----\\n{body}=\\n-----END {kind}PRIVATE KEY-----"


def _ssn(rng: random.Random) -> str:
    """A US social security number as written: area 001-899 but 666, group 01-99, serial 0001-9999."""
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def with_luhn(partial: str) -> str:
    """``partial`` plus the check digit that makes it Luhn-valid."""
    return next(partial + d for d in string.digits if luhn_valid(partial + d))


def _iban(country: str, bban: str) -> str:
    numeric = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{bban}"


def _group(text: str, sizes: Sequence[int], sep: str) -> str:
    out, pos = [], 0
    for size in sizes:
        out.append(text[pos : pos + size])
        pos += size
    return sep.join(out)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(rng: random.Random) -> str:
    header = {"kid": _chars(rng, _ALNUM, 10), "alg": "HS256", "typ": "JWT"}
    payload = {"sub": _chars(rng, _ALNUM, 12), "email_verified": True, "iat": 1_700_000_000 + rng.randrange(10**6)}
    parts = [json.dumps(header, separators=(",", ":")), json.dumps(payload, separators=(",", ":"))]
    return ".".join([*(_b64url(p.encode()) for p in parts), _chars(rng, _ALNUM + "-_", 43)])


def _same(make: Callable[[random.Random], str]) -> Callable[[random.Random], tuple[str, str]]:
    """A kind written as is: the text is the value."""
    return lambda rng: (lambda value: (value, value))(make(rng))


def _labelled(make: Callable[[random.Random], str], template: str) -> Callable[[random.Random], tuple[str, str]]:
    """A kind recognised by what is around it: ``template`` holds ``{}`` where the value goes."""
    return lambda rng: (lambda value: (value, template.format(value)))(make(rng))


@dataclass(frozen=True)
class Kind:
    """One kind of secret or personal datum: ``make(rng)`` returns (value, text as written)."""

    name: str
    make: Callable[[random.Random], tuple[str, str]]
    credential: bool = True  # no PIECE-character piece of the value may be exported either
    digits_form: bool = False  # also look for the value without its separators (cards, IBANs)
    label: str | None = None  # JSON key that tells what the value is (json_labels place)


def _us_area(rng: random.Random) -> str:
    return _digits(rng, 3, "23456789")


KINDS: tuple[Kind, ...] = (
    Kind("openai_key", _same(lambda r: "sk-" + _random_body(r, _ALNUM, 20) + "T3BlbkFJ" + _random_body(r, _ALNUM, 20))),
    Kind("openai_project_key", _same(lambda r: "sk-proj-" + _random_body(r, _KEY, 56) + "A")),
    Kind("openai_service_account_key", _same(lambda r: "sk-svcacct-" + _random_body(r, _KEY, 56) + "Q")),
    Kind("openai_admin_key", _same(lambda r: "sk-admin-" + _random_body(r, _KEY, 56) + "Z")),
    Kind("deepseek_key", _same(lambda r: "sk-" + _chars(r, _HEX, 32))),
    Kind("anthropic_key", _same(lambda r: "sk-ant-api03-" + _random_body(r, _KEY, 93) + "AA")),
    Kind("elevenlabs_key", _same(lambda r: "sk_" + _chars(r, _HEX, 48))),
    Kind(
        "elevenlabs_labelled_key",
        _labelled(lambda r: _random_body(r, _ALNUM, 32), "xi-api-key: {}"),
        label="xi-api-key",
    ),
    Kind("aws_access_key", _same(lambda r: "AKIA" + _chars(r, _UPPER_DIGITS, 16))),
    Kind(
        "aws_secret_key",
        _labelled(lambda r: _random_body(r, _ALNUM + "/+", 40), "aws_secret_access_key = {}"),
        label="aws_secret_access_key",
    ),
    Kind("github_token", _same(lambda r: "ghp_" + _random_body(r, _ALNUM, 36))),
    Kind("github_pat", _same(lambda r: f"github_pat_{_random_body(r, _ALNUM, 22)}_{_random_body(r, _ALNUM, 59)}")),
    Kind("slack_token", _same(lambda r: f"xoxb-{_digits(r, 11)}-{_digits(r, 13)}-{_random_body(r, _ALNUM, 24)}")),
    Kind(
        "slack_webhook",
        _labelled(
            lambda r: f"hooks.slack.com/services/T{_chars(r, _UPPER_DIGITS, 8)}/B{_chars(r, _UPPER_DIGITS, 10)}/"
            + _random_body(r, _ALNUM, 24),
            "https://{}",
        ),
    ),
    Kind("jwt", _same(_jwt)),
    Kind("bearer_token", _labelled(lambda r: _random_body(r, _ALNUM + "._-", 40), "Bearer {}")),
    Kind(
        "url_password",
        _labelled(lambda r: _random_body(r, _ALNUM, 32), "postgres://orders_app:{}@db.internal.example:5432/orders"),
    ),
    Kind(
        "email",
        _same(lambda r: f"{_chars(r, string.ascii_lowercase, 5)}.{_chars(r, string.ascii_lowercase, 7)}"
              f"{r.randrange(10, 99)}@example-{_chars(r, string.ascii_lowercase, 4)}.com"),
        credential=False,
    ),
    Kind("iban", _same(lambda r: _iban("DE", _digits(r, 18))), credential=False, digits_form=True),
    Kind(
        "iban_grouped",
        _same(lambda r: _group(_iban("FR", _digits(r, 23)), (4, 4, 4, 4, 4, 4, 3), " ")),
        credential=False,
        digits_form=True,
    ),
    Kind("card_number", _same(lambda r: with_luhn("4" + _digits(r, 14))), credential=False, digits_form=True),
    Kind(
        "card_grouped",
        _same(lambda r: _group(with_luhn("5" + r.choice("12345") + _digits(r, 13)), (4, 4, 4, 4), " ")),
        credential=False,
        digits_form=True,
    ),
    Kind(
        "card_dashed",
        _same(lambda r: _group(with_luhn("4" + _digits(r, 14)), (4, 4, 4, 4), "-")),
        credential=False,
        digits_form=True,
    ),
    Kind(
        "card_amex",
        _same(lambda r: _group(with_luhn(r.choice(("34", "37")) + _digits(r, 12)), (4, 6, 5), " ")),
        credential=False,
        digits_form=True,
    ),
    Kind("phone_international", _same(lambda r: f"+44 20 {_digits(r, 4)} {_digits(r, 4)}"), credential=False),
    Kind(
        "phone_us_parens",
        _same(lambda r: f"({_us_area(r)}) {_us_area(r)}-{_digits(r, 4)}"),
        credential=False,
    ),
    Kind("phone_us_dashes", _same(lambda r: f"{_us_area(r)}-{_us_area(r)}-{_digits(r, 4)}"), credential=False),
    Kind("phone_de", _same(lambda r: f"030 {_digits(r, 8, '123456789')}"), credential=False),
    Kind(
        "phone_fr",
        _same(lambda r: "06 " + " ".join(_digits(r, 2) for _ in range(4))),
        credential=False,
    ),
    Kind("custom", _same(lambda r: "internal-ref-" + _chars(r, _UPPER_DIGITS, 12)), credential=False),
    # Added with issue 15: more key formats, Basic credentials, password pairs, US SSNs.
    Kind("private_key", _same(_pem)),
    Kind("stripe_key", _same(lambda r: r.choice(("sk_live_", "rk_live_", "sk_test_")) + _random_body(r, _ALNUM, 24))),
    Kind("google_api_key", _same(lambda r: "AIza" + _random_body(r, _ALNUM + "-_", 35))),
    Kind("google_oauth_token", _same(lambda r: "ya29." + _random_body(r, _ALNUM + "-_", 60))),
    Kind("gitlab_token", _same(lambda r: "glpat-" + _random_body(r, _ALNUM + "-_", 20))),
    Kind("huggingface_token", _same(lambda r: "hf_" + _random_body(r, string.ascii_letters, 34, digit=False))),
    Kind("sendgrid_key", _same(lambda r: f"SG.{_random_body(r, _KEY, 22)}.{_random_body(r, _KEY, 43)}")),
    Kind("npm_token", _same(lambda r: "npm_" + _random_body(r, _ALNUM, 36))),
    Kind(
        "basic_auth",
        _labelled(
            lambda r: base64.b64encode(f"svc-{_chars(r, string.ascii_lowercase, 6)}:{_random_body(r, _ALNUM, 16)}"
                                       .encode()).decode(),
            "Authorization: Basic {}",
        ),
    ),
    Kind("password", _labelled(lambda r: _random_body(r, _ALNUM + "!$*~", 18), "password={}"), label="password"),
    Kind("password_json", _labelled(lambda r: _random_body(r, _ALNUM + "!$*~", 18), '"password": "{}"')),
    Kind("us_ssn", _same(_ssn), credential=False),
)
KIND = {kind.name: kind for kind in KINDS}

# Values nothing recognises by their shape: only their name (a header, a query parameter) or
# their registration (the client's own API key) can tell that they are secret.
OPAQUE_KINDS: tuple[Kind, ...] = (
    Kind("opaque_credential", _same(lambda r: _random_body(r, _ALNUM, 32))),
    Kind("client_api_key", _same(lambda r: "acme-gw-" + _random_body(r, _ALNUM, 40))),
)
OPAQUE = {kind.name: kind for kind in OPAQUE_KINDS}


@dataclass(frozen=True)
class Planted:
    """One planted value: it, and every form of it in ``forms()``, must never be exported."""

    kind: str
    place: str
    context: str
    value: str
    text: str  # the value as written in its place (with its label or scheme where it has one)
    credential: bool
    digits_form: bool

    def forms(self) -> dict[str, str]:
        """Form -> its name: the value as written, URL-encoded (query parameters) and, for card
        numbers and IBANs, without separators (a JSON number, a normalized form)."""
        forms = {self.value: "as written"}
        forms.setdefault(quote(self.value, safe=""), "URL-encoded")
        forms.setdefault(quote_plus(self.value), "URL-encoded")
        if self.digits_form:
            forms.setdefault("".join(ch for ch in self.value if ch.isalnum()), "without separators")
        return forms

    def label(self) -> str:
        return f"{self.kind} @ {self.place} [{self.context}]"


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------

# Contexts of a blob (free text): each kind once in each.
TEXT_CONTEXTS = ("inline", "line_start", "after_tab", "quoted")
# Extras of structured places: a card number as a JSON number, an e-mail address as a JSON key.
STRUCTURED_EXTRAS = (("int", ("card_number",)), ("dict_key", ("email",)))

_Contexts = tuple[tuple[str, tuple[str, ...] | None], ...]  # (context, kind names or None = all KINDS)


@dataclass(frozen=True)
class Place:
    """A place telemetry reads: the contexts it plants values in, and the calls that do it."""

    name: str
    what: str
    contexts: _Contexts
    run: Callable[[Ctx], int]  # makes the calls; returns the number of GenAI calls made
    needs: str = ""  # a client feature ("responses", "callable_api_key", "elevenlabs"); skipped without it
    shows: str = ""  # where the canary must arrive: part of a location ("gen_ai.output.messages")
    provider: str = "openai"  # gen_ai.provider.name of the GenAI calls ``run`` makes


def planted_for(place: Place) -> list[Planted]:
    out: list[Planted] = []
    for context, names in place.contexts:
        kinds = KINDS if names is None else tuple(KIND.get(n) or OPAQUE[n] for n in names)
        for kind in kinds:
            rng = random.Random(f"{place.name}/{context}/{kind.name}")
            value, text = kind.make(rng)
            out.append(Planted(kind.name, place.name, context, value, text, kind.credential, kind.digits_form))
    return out


def planted(places: Iterable[Place] | None = None) -> list[Planted]:
    """Every planted value of ``places`` (default: all of ``PLACES``)."""
    return [p for place in (PLACES if places is None else places) for p in planted_for(place)]


class Ctx:
    """What a place's ``run`` works with: the app's clients and the place's planted values."""

    def __init__(self, app: App, place: Place) -> None:
        self.app = app
        self.place = place
        self.values = {(p.context, p.kind): p for p in planted_for(place)}
        self.canary = f"canary-{place.name}"

    def value(self, context: str, kind: str) -> Planted:
        return self.values[(context, kind)]

    def blob(self) -> str:
        """Free text holding every kind in every text context (line starts, tabs, quotes)."""
        lines = [f"{self.canary} starts here."]
        for kind in KINDS:
            v = {ctx: self.values[(ctx, kind.name)].text for ctx in TEXT_CONTEXTS}
            lines.append(f"{kind.name} inline {v['inline']} in a sentence;")
            lines.append(
                f"{v['line_start']} opens this line,\t{v['after_tab']} follows a tab and \"{v['quoted']}\" is quoted."
            )
        text = "\n".join(lines)
        if len(text) >= _content_limit():  # the truncation place cuts on purpose; nothing else may be cut
            raise ValueError(f"a blob of {len(text)} characters is cut by OTEL_AI_CONTENT_MAX_LENGTH")
        return text

    def arguments(self) -> dict[str, Any]:
        """Tool-call arguments: the blob, a card number as a JSON number, an e-mail as a key."""
        return {
            "note": self.blob(),
            "card": int(self.value("int", "card_number").value),
            self.value("dict_key", "email").value: "is a dictionary key",
        }

    @property
    def client(self) -> Any:
        return self.app.client


def _shows(name: str) -> str:
    """Where a blob place's content is captured, from its name."""
    if name.startswith("log."):
        return "log app"
    if name.endswith(".error"):
        return "exception.message"
    if name.endswith("output") and not name.endswith("function_call_output"):
        return "gen_ai.output.messages"
    if name == "chat.system" or name.endswith(".chat.system"):
        return "gen_ai.input.messages"  # a chat history's system message stays in it (the conventions' rule)
    if name.endswith((".system", ".instructions")):
        return "gen_ai.system_instructions"
    if name.endswith("tool_definitions"):
        return "gen_ai.tool.definitions"
    return "gen_ai.input.messages"


def _blob_place(
    name: str,
    what: str,
    run: Callable[[Ctx], int],
    *,
    needs: str = "",
    extras: bool = False,
    provider: str = "openai",
) -> Place:
    contexts: _Contexts = tuple((ctx, None) for ctx in TEXT_CONTEXTS)
    if extras:
        contexts += STRUCTURED_EXTRAS
    return Place(name, what, contexts, run, needs, _shows(name), provider)


def _scenario(name: str, **extra: str) -> dict[str, str]:
    return {"x-simulator-scenario": name, **extra}


def _chat(ctx: Ctx, messages: list[dict[str, Any]], **kwargs: Any) -> int:
    ctx.client.chat.completions.create(model=kwargs.pop("model", MODEL), messages=messages, **kwargs)
    return 1


def _chat_stream(ctx: Ctx, messages: list[dict[str, Any]], **kwargs: Any) -> int:
    with ctx.client.chat.completions.create(
        model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}, **kwargs
    ) as stream:
        for _ in stream:
            pass
    return 1


def _responses(ctx: Ctx, **kwargs: Any) -> int:
    ctx.client.responses.create(model=MODEL, **kwargs)
    return 1


def _responses_stream(ctx: Ctx, **kwargs: Any) -> int:
    with ctx.client.responses.create(model=MODEL, stream=True, **kwargs) as stream:
        for _ in stream:
            pass
    return 1


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _tool_definition(ctx: Ctx) -> dict[str, Any]:
    return {
        "name": TOOL,
        "description": ctx.blob(),
        "parameters": {
            "type": "object",
            "properties": {ctx.value("dict_key", "email").value: {"type": "string"}},
            "examples": [{"card": int(ctx.value("int", "card_number").value)}],
        },
    }


def _expect_error(ctx: Ctx, call: Callable[[], Any], *, log: bool = False) -> int:
    import openai

    try:
        call()
    except openai.BadRequestError:
        if log:
            logging.getLogger("app").exception("the gateway refused the call")
        return 1
    raise AssertionError(f"{ctx.place.name}: the echo_error scenario did not fail")


# -- the places' calls -------------------------------------------------------------------------


def _run_chat_user(ctx: Ctx) -> int:
    return _chat(ctx, [_user(ctx.blob())])


def _run_chat_system(ctx: Ctx) -> int:
    return _chat(ctx, [{"role": "system", "content": ctx.blob()}, _user("hi")])


def _run_chat_tool_call_request(ctx: Ctx) -> int:
    call = {"id": "call_1", "type": "function", "function": {"name": TOOL, "arguments": json.dumps(ctx.arguments())}}
    messages = [
        _user("look the customer up"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "found"},
    ]
    return _chat(ctx, messages)


def _run_chat_tool_result(ctx: Ctx) -> int:
    call = {"id": "call_1", "type": "function", "function": {"name": TOOL, "arguments": "{}"}}
    messages = [
        _user("look the customer up"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": ctx.blob()},
    ]
    return _chat(ctx, messages)


def _run_chat_tool_definitions(ctx: Ctx) -> int:
    return _chat(ctx, [_user("hi")], tools=[{"type": "function", "function": _tool_definition(ctx)}])


def _run_chat_stream_user(ctx: Ctx) -> int:
    return _chat_stream(ctx, [_user(ctx.blob())])


def _run_chat_output(ctx: Ctx) -> int:
    return _chat(ctx, [_user(ctx.blob())], extra_headers=_scenario("echo"))


def _run_chat_stream_output(ctx: Ctx) -> int:
    return _chat_stream(ctx, [_user(ctx.blob())], extra_headers=_scenario("echo"))


def _tool_call_headers(ctx: Ctx) -> dict[str, str]:
    return _scenario("tool_call", **{"x-simulator-tool-arguments": json.dumps(ctx.arguments())})


def _run_chat_tool_call_output(ctx: Ctx) -> int:
    return _chat(ctx, [_user("call the tool")], extra_headers=_tool_call_headers(ctx))


def _run_chat_stream_tool_call_output(ctx: Ctx) -> int:
    return _chat_stream(ctx, [_user("call the tool")], extra_headers=_tool_call_headers(ctx))


def _run_responses_input(ctx: Ctx) -> int:
    return _responses(ctx, input=[_user(ctx.blob())])


def _run_responses_instructions(ctx: Ctx) -> int:
    return _responses(ctx, instructions=ctx.blob(), input="hi")


def _run_responses_function_call(ctx: Ctx) -> int:
    items = [
        _user("look the customer up"),
        {"type": "function_call", "call_id": "call_1", "name": TOOL, "arguments": json.dumps(ctx.arguments())},
        {"type": "function_call_output", "call_id": "call_1", "output": "found"},
    ]
    return _responses(ctx, input=items)


def _run_responses_function_call_output(ctx: Ctx) -> int:
    items = [
        _user("look the customer up"),
        {"type": "function_call", "call_id": "call_1", "name": TOOL, "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": ctx.blob()},
    ]
    return _responses(ctx, input=items)


def _run_responses_tool_definitions(ctx: Ctx) -> int:
    return _responses(ctx, input="hi", tools=[{"type": "function", **_tool_definition(ctx)}])


def _run_responses_stream_input(ctx: Ctx) -> int:
    return _responses_stream(ctx, input=ctx.blob())


def _run_responses_output(ctx: Ctx) -> int:
    return _responses(ctx, input=[_user(ctx.blob())], extra_headers=_scenario("echo"))


def _run_responses_stream_output(ctx: Ctx) -> int:
    return _responses_stream(ctx, input=[_user(ctx.blob())], extra_headers=_scenario("echo"))


def _run_responses_tool_call_output(ctx: Ctx) -> int:
    return _responses(ctx, input="call the tool", extra_headers=_tool_call_headers(ctx))


def _run_chat_async_user(ctx: Ctx) -> int:
    async def call() -> None:
        async with ctx.app.async_client() as client:
            await client.chat.completions.create(
                model=MODEL, messages=[_user(ctx.blob())], extra_headers=_scenario("echo")
            )

    asyncio.run(call())
    return 1


def _run_chat_async_stream_output(ctx: Ctx) -> int:
    async def call() -> None:
        async with ctx.app.async_client() as client:
            stream = await client.chat.completions.create(
                model=MODEL, messages=[_user(ctx.blob())], stream=True, extra_headers=_scenario("echo")
            )
            async with stream:
                async for _ in stream:
                    pass

    asyncio.run(call())
    return 1


def _run_chat_raw_output(ctx: Ctx) -> int:
    raw = ctx.client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[_user(ctx.blob())], extra_headers=_scenario("echo")
    )
    raw.parse()
    return 1


def _run_chat_stream_helper_output(ctx: Ctx) -> int:
    with ctx.client.chat.completions.stream(
        model=MODEL, messages=[_user(ctx.blob())], extra_headers=_scenario("echo")
    ) as stream:
        for _ in stream:
            pass
    return 1


def _run_responses_stream_helper_output(ctx: Ctx) -> int:
    with ctx.client.responses.stream(model=MODEL, input=[_user(ctx.blob())], extra_headers=_scenario("echo")) as stream:
        for _ in stream:
            pass
    return 1


def _run_chat_stop_sequences(ctx: Ctx) -> int:
    stop = [f"{ctx.canary} stop"] + [ctx.value("stop", kind.name).text for kind in KINDS]
    return _chat(ctx, [_user("hi")], stop=stop)


def _run_chat_error(ctx: Ctx) -> int:
    return _expect_error(
        ctx, lambda: _chat(ctx, [_user(ctx.blob())], extra_headers=_scenario("echo_error")), log=True
    )


def _run_chat_stream_error(ctx: Ctx) -> int:
    return _expect_error(ctx, lambda: _chat_stream(ctx, [_user(ctx.blob())], extra_headers=_scenario("echo_error")))


def _run_responses_error(ctx: Ctx) -> int:
    return _expect_error(ctx, lambda: _responses(ctx, input=ctx.blob(), extra_headers=_scenario("echo_error")))


def _run_callable_key_error(ctx: Ctx) -> int:
    import openai

    key = ctx.value("api_key", "opaque_credential").value
    client = openai.OpenAI(base_url=ctx.app.base_url, api_key=lambda: key, max_retries=0)
    return _expect_error(
        ctx,
        lambda: client.chat.completions.create(
            model=MODEL, messages=[_user(ctx.blob())], extra_headers=_scenario("echo_error")
        ),
    )


def _run_client_api_key(ctx: Ctx) -> int:
    # Every call of the app's client sends this key (Authorization, captured with the headers);
    # the echo_error places get it repeated in the error body.
    return _chat(ctx, [_user(f"{ctx.canary}: hi")])


def _run_log_percent_s(ctx: Ctx) -> int:
    logging.getLogger("app").warning("customer note: %s", ctx.blob())
    return 0


def _run_log_percent_r(ctx: Ctx) -> int:
    logging.getLogger("app").warning("customer payload %r", ctx.blob())
    return 0


def _run_log_extra(ctx: Ctx) -> int:
    logging.getLogger("app").warning("customer note attached", extra={"customer_note": ctx.blob()})
    return 0


def _run_evaluation_explanation(ctx: Ctx) -> int:
    import otel_ai

    completion = ctx.client.chat.completions.create(model=MODEL, messages=[_user("hi")])
    otel_ai.evaluate("helpfulness", 0.5, "fair", ctx.blob())  # the call just made (its span has ended)
    otel_ai.evaluate("helpfulness", 0.5, "fair", ctx.blob(), response_id=completion.id)
    return 1


def _run_model_name(ctx: Ctx) -> int:
    for kind in KINDS:
        model = f"ft:gpt-4o-mini:{ctx.canary}:{ctx.value('model', kind.name).text}"
        _chat(ctx, [_user("hi")], model=model)
    return len(KINDS)


def _run_url_query(ctx: Ctx) -> int:
    import openai

    query = {
        "api_key": ctx.value("api_key", "opaque_credential").value,
        "place": ctx.canary,
        **{f"leak_{kind.name}": ctx.value("query", kind.name).text for kind in KINDS},
    }
    client = openai.OpenAI(base_url=ctx.app.base_url, api_key=ctx.app.api_key, default_query=query, max_retries=0)
    client.chat.completions.create(model=MODEL, messages=[_user("hi")])
    return 1


def _header_name(kind: Kind) -> str:
    return "X-Leak-" + kind.name.replace("_", "-")


def _run_request_headers(ctx: Ctx) -> int:
    headers = {
        "X-Canary": ctx.canary,
        "X-Customer-Email": ctx.value("customer_email_header", "email").value,
        "X-Internal-Token": ctx.value("internal_token_header", "opaque_credential").value,
        **{_header_name(kind): ctx.value("header", kind.name).text for kind in KINDS},
    }
    return _chat(ctx, [_user("hi")], extra_headers=headers)


def _run_response_headers(ctx: Ctx) -> int:
    headers = {
        "x-canary": ctx.canary,
        "x-internal-token": ctx.value("internal_token_header", "opaque_credential").value,
        **{_header_name(kind).lower(): ctx.value("response_header", kind.name).text for kind in KINDS},
    }
    # base64: the request header that asks for them must not carry the values in clear
    encoded = base64.b64encode(json.dumps(headers).encode()).decode()
    return _chat(ctx, [_user("hi")], extra_headers={"x-simulator-response-headers": encoded})


def _run_json_labels(ctx: Ctx) -> int:
    # a label says what the value is: {"aws_secret_access_key": "<value>"}; other kinds as written
    labelled = {}
    for kind in KINDS:
        p = ctx.value("json", kind.name)
        labelled[kind.label or kind.name] = p.value if kind.label else p.text
    text = f"{ctx.canary}: here is my config file\n{json.dumps(labelled, indent=2)}\nwhat is wrong with it?"
    return _chat(ctx, [_user(text)])


def _content_limit() -> int:
    return int(os.environ.get("OTEL_AI_CONTENT_MAX_LENGTH") or 8192)


def _run_truncation(ctx: Ctx) -> int:
    """One text part per kind, each cut by the content limit in the middle of its value."""
    limit = _content_limit()
    filler = f"{ctx.canary} " + "lorem ipsum dolor sit amet " * (limit // 20 + 2)
    parts = []
    for kind in KINDS:
        p = ctx.value("cut", kind.name)
        cut = p.text.index(p.value) + len(p.value) // 2  # the limit falls here, inside the value
        parts.append({"type": "text", "text": filler[: limit - cut - 1] + " " + p.text + " and more text after it"})
    return _chat(ctx, [{"role": "user", "content": parts}])


def _kinds(*names: str) -> tuple[str, ...]:
    return names


# -- ElevenLabs ----------------------------------------------------------------------------------

VOICE = "21m00Tcm4TlvDq8ikWAM"
SPEECH_FORMAT = "mp3_22050_32"  # the smallest real format: a blob is about 8 minutes of speech
_PATH_SAFE = "!$&'()*+,;=:@-._~"  # what a URL path segment holds as is (httpx sends it unchanged)


def _xi(scenario: str = "ok", **headers: str) -> dict[str, Any]:
    """``request_options`` of an ElevenLabs call: the simulator's scenario and extra headers."""
    return {"additional_headers": {"x-simulator-scenario": scenario, **headers}, "max_retries": 0}


def _speak(audio: Iterable[bytes]) -> int:
    """Read a whole audio stream (the client's methods send nothing until iterated)."""
    for _ in audio:
        pass
    return 1


def _transcript(ctx: Ctx) -> dict[str, str]:
    """The speech-to-text answer: the blob, sent as the ``x-simulator-reply`` header. A header
    value holds no line break, so the lines are joined with spaces (tabs and quotes stay)."""
    return {"x-simulator-reply": ctx.blob().replace("\n", " ")}


def _path_voice(text: str) -> str:
    """A voice id for the URL path: as is where a path segment holds it unchanged, else fully
    URL-encoded (a form the test looks for; the client does not encode its path parameters)."""
    return text if quote(text, safe=_PATH_SAFE) == text else quote(text, safe="")


def _expect_api_error(ctx: Ctx, call: Callable[[], Any], *, log: bool = False) -> int:
    from elevenlabs.core.api_error import ApiError

    try:
        call()
    except ApiError as exc:
        if exc.status_code != 400:
            raise
        if log:
            logging.getLogger("app").exception("the speech gateway refused the call")
        return 1
    raise AssertionError(f"{ctx.place.name}: the echo_error scenario did not fail")


def _run_el_tts_input(ctx: Ctx) -> int:
    return _speak(ctx.app.elevenlabs.text_to_speech.convert(VOICE, text=ctx.blob(), output_format=SPEECH_FORMAT))


def _run_el_tts_stream_input(ctx: Ctx) -> int:
    return _speak(ctx.app.elevenlabs.text_to_speech.stream(VOICE, text=ctx.blob(), output_format=SPEECH_FORMAT))


def _run_el_tts_async_input(ctx: Ctx) -> int:
    async def call() -> None:
        client = ctx.app.async_elevenlabs()
        async for _ in client.text_to_speech.convert(VOICE, text=ctx.blob(), output_format=SPEECH_FORMAT):
            pass

    asyncio.run(call())
    return 1


def _run_el_dialogue_input(ctx: Ctx) -> int:
    lines = ctx.blob().split("\n")
    half = len(lines) // 2  # two speakers: a value opens the second one's text
    inputs = [{"text": "\n".join(lines[:half]), "voice_id": VOICE}, {"text": "\n".join(lines[half:]), "voice_id": "v2"}]
    return _speak(ctx.app.elevenlabs.text_to_dialogue.convert(inputs=inputs, output_format=SPEECH_FORMAT))


def _run_el_sound_effects_input(ctx: Ctx) -> int:
    return _speak(
        ctx.app.elevenlabs.text_to_sound_effects.convert(
            text=ctx.blob(), duration_seconds=0.5, output_format=SPEECH_FORMAT
        )
    )


def _run_el_stt_output(ctx: Ctx) -> int:
    ctx.app.elevenlabs_opaque.speech_to_text.convert(
        model_id="scribe_v1", file=b"\x00\x01" * 8000, request_options=_xi(**_transcript(ctx))
    )
    return 1


def _run_el_tts_error(ctx: Ctx) -> int:
    return _expect_api_error(
        ctx,
        lambda: _speak(
            ctx.app.elevenlabs.text_to_speech.convert(VOICE, text=ctx.blob(), request_options=_xi("echo_error"))
        ),
        log=True,
    )


def _run_el_stt_error(ctx: Ctx) -> int:
    return _expect_api_error(
        ctx,
        lambda: ctx.app.elevenlabs_opaque.speech_to_text.convert(
            model_id="scribe_v1", file=b"\x00\x01" * 8000, request_options=_xi("echo_error", **_transcript(ctx))
        ),
    )


def _run_el_voice_id(ctx: Ctx) -> int:
    client = ctx.app.elevenlabs
    for kind in KINDS:  # in the URL path (/v1/text-to-speech/{voice_id})
        _speak(client.text_to_speech.convert(_path_voice(ctx.value("path", kind.name).text), text="hi"))
    inputs = [{"text": "hi", "voice_id": ctx.canary}] + [  # in the JSON body, as written
        {"text": "hi", "voice_id": ctx.value("dialogue", kind.name).text} for kind in KINDS
    ]
    _speak(client.text_to_dialogue.convert(inputs=inputs))
    return len(KINDS) + 1


def _run_el_model_id(ctx: Ctx) -> int:
    for kind in KINDS:
        model = f"eleven_multilingual_v2:{ctx.canary}:{ctx.value('model', kind.name).text}"
        _speak(ctx.app.elevenlabs.text_to_speech.convert(VOICE, text="hi", model_id=model))
    return len(KINDS)


def _run_el_request_headers(ctx: Ctx) -> int:
    headers = {
        "X-Canary": ctx.canary,
        "X-Customer-Email": ctx.value("customer_email_header", "email").value,
        "X-Internal-Token": ctx.value("internal_token_header", "opaque_credential").value,
        **{_header_name(kind): ctx.value("header", kind.name).text for kind in KINDS},
    }
    return _speak(ctx.app.elevenlabs_opaque.text_to_speech.convert(VOICE, text="hi", request_options=_xi(**headers)))


def _run_el_client_api_key(ctx: Ctx) -> int:
    # Every call of the app's ElevenLabs clients sends its key (xi-api-key, captured with the
    # headers); the echo_error places get it repeated in the error body.
    _speak(ctx.app.elevenlabs.text_to_speech.convert(VOICE, text=f"{ctx.canary}: hi"))
    _speak(ctx.app.elevenlabs_opaque.text_to_speech.convert(VOICE, text=f"{ctx.canary}: hi again"))
    return 2


def _run_log_speech(ctx: Ctx) -> int:
    logging.getLogger("app").warning("customer asked to hear: %s", ctx.blob())
    return 0


def _el_place(name: str, what: str, run: Callable[[Ctx], int]) -> Place:
    return _blob_place(name, what, run, needs="elevenlabs", provider="elevenlabs")


ELEVENLABS_PLACES: tuple[Place, ...] = (
    _el_place("elevenlabs.tts.input", "ElevenLabs text_to_speech.convert: the text", _run_el_tts_input),
    _el_place("elevenlabs.tts.stream.input", "ElevenLabs text_to_speech.stream: the text", _run_el_tts_stream_input),
    _el_place(
        "elevenlabs.tts.async.input", "ElevenLabs async text_to_speech.convert: the text", _run_el_tts_async_input
    ),
    _el_place(
        "elevenlabs.dialogue.input", "ElevenLabs text_to_dialogue: the inputs' text (two speakers)",
        _run_el_dialogue_input,
    ),
    _el_place(
        "elevenlabs.sound_effects.input", "ElevenLabs text_to_sound_effects: the prompt", _run_el_sound_effects_input
    ),
    _el_place(
        "elevenlabs.stt.output", "ElevenLabs speech_to_text: the transcript (x-simulator-reply, one line)",
        _run_el_stt_output,
    ),
    _el_place(
        "elevenlabs.tts.error", "ElevenLabs: a 400 whose body repeats the text and the key (and a logged exception)",
        _run_el_tts_error,
    ),
    _el_place(
        "elevenlabs.stt.error", "ElevenLabs speech_to_text: a 400 whose body repeats the transcript and the key",
        _run_el_stt_error,
    ),
    Place(
        "elevenlabs.voice_id",
        "ElevenLabs voice ids: in the URL path (text to speech) and in dialogue inputs",
        (("path", None), ("dialogue", None)),
        _run_el_voice_id,
        needs="elevenlabs",
        shows="attribute 'gen_ai.speech.voice'",
        provider="elevenlabs",
    ),
    Place(
        "elevenlabs.model_id",
        "ElevenLabs model ids (span names, metric attributes, warnings)",
        (("model", None),),
        _run_el_model_id,
        needs="elevenlabs",
        shows="metric gen_ai.client.operation.duration attribute 'gen_ai.request.model'",
        provider="elevenlabs",
    ),
    Place(
        "elevenlabs.request_headers",
        "ElevenLabs: custom request headers (additional_headers; header capture on)",
        (
            ("customer_email_header", _kinds("email")),
            ("internal_token_header", _kinds("opaque_credential")),
            ("header", None),
        ),
        _run_el_request_headers,
        needs="elevenlabs",
        shows="http.request.header.x",
        provider="elevenlabs",
    ),
    Place(
        "elevenlabs.client.api_key",
        "the ElevenLabs clients' own keys (an sk_ key, and one no pattern knows): xi-api-key, error bodies",
        (("api_key", _kinds("elevenlabs_key")), ("opaque_api_key", _kinds("opaque_credential"))),
        _run_el_client_api_key,
        needs="elevenlabs",
        shows="gen_ai.input.messages",
        provider="elevenlabs",
    ),
    _blob_place("log.speech", 'a log message about speech: logger.warning("%s", text)', _run_log_speech),
)


PLACES: tuple[Place, ...] = (
    _blob_place("chat.user", "chat: a user message", _run_chat_user),
    _blob_place("chat.system", "chat: the system message (in the input messages)", _run_chat_system),
    _blob_place(
        "chat.tool_call_request", "chat: an assistant tool call's arguments sent back", _run_chat_tool_call_request,
        extras=True,
    ),
    _blob_place("chat.tool_result", "chat: a tool message (tool call response)", _run_chat_tool_result),
    _blob_place(
        "chat.tool_definitions", "chat: a tool's description and schema", _run_chat_tool_definitions, extras=True
    ),
    _blob_place("chat.stream.user", "chat stream: a user message", _run_chat_stream_user),
    _blob_place("chat.output", "chat: the model's answer (echo)", _run_chat_output),
    _blob_place("chat.stream.output", "chat stream: the model's answer (echo)", _run_chat_stream_output),
    _blob_place(
        "chat.tool_call_output", "chat: the model's tool call arguments", _run_chat_tool_call_output, extras=True
    ),
    _blob_place(
        "chat.stream.tool_call_output", "chat stream: the model's tool call arguments",
        _run_chat_stream_tool_call_output, extras=True,
    ),
    _blob_place("responses.input", "responses: a user input item", _run_responses_input, needs="responses"),
    _blob_place("responses.instructions", "responses: instructions", _run_responses_instructions, needs="responses"),
    _blob_place(
        "responses.function_call", "responses: a function_call item's arguments sent back",
        _run_responses_function_call, needs="responses", extras=True,
    ),
    _blob_place(
        "responses.function_call_output", "responses: a function_call_output item",
        _run_responses_function_call_output, needs="responses",
    ),
    _blob_place(
        "responses.tool_definitions", "responses: a function tool's description and schema",
        _run_responses_tool_definitions, needs="responses", extras=True,
    ),
    _blob_place("responses.stream.input", "responses stream: the input string", _run_responses_stream_input,
                needs="responses"),
    _blob_place("responses.output", "responses: the model's answer (echo)", _run_responses_output, needs="responses"),
    _blob_place(
        "responses.stream.output", "responses stream: the model's answer (echo)", _run_responses_stream_output,
        needs="responses",
    ),
    _blob_place(
        "responses.tool_call_output", "responses: the model's function call arguments",
        _run_responses_tool_call_output, needs="responses", extras=True,
    ),
    _blob_place("chat.async.output", "async chat: a user message and the answer (echo)", _run_chat_async_user),
    _blob_place(
        "chat.async.stream.output", "async chat stream: the model's answer (echo)", _run_chat_async_stream_output
    ),
    _blob_place("chat.raw.output", "chat with_raw_response: the model's answer (echo)", _run_chat_raw_output),
    _blob_place(
        "chat.stream_helper.output", "chat.completions.stream(): the model's answer (echo)",
        _run_chat_stream_helper_output, needs="chat_stream_helper",
    ),
    _blob_place(
        "responses.stream_helper.output", "responses.stream(): the model's answer (echo)",
        _run_responses_stream_helper_output, needs="responses",
    ),
    Place("chat.stop_sequences", "stop sequences (gen_ai.request.stop_sequences)", (("stop", None),),
          _run_chat_stop_sequences, shows="gen_ai.request.stop_sequences"),
    _blob_place("chat.error", "chat: a 400 whose body repeats the request (and a logged exception)", _run_chat_error),
    _blob_place("chat.stream.error", "chat stream: a 400 whose body repeats the request", _run_chat_stream_error),
    _blob_place("responses.error", "responses: a 400 whose body repeats the request", _run_responses_error,
                needs="responses"),
    Place(
        "callable_key.error",
        "a client with a callable api_key; the 400 repeats the key it sent",
        (*((ctx, None) for ctx in TEXT_CONTEXTS), ("api_key", _kinds("opaque_credential"))),
        _run_callable_key_error,
        needs="callable_api_key",
        shows="exception.message",
    ),
    Place(
        "client.api_key",
        "the app client's own API key (no known prefix): Authorization header, error bodies",
        (("api_key", _kinds("client_api_key")),),
        _run_client_api_key,
    ),
    _blob_place("log.percent_s", 'a log message: logger.warning("%s", text)', _run_log_percent_s),
    _blob_place("log.percent_r", 'a log message: logger.warning("%r", text)', _run_log_percent_r),
    _blob_place("log.extra", "a log record's extra attribute", _run_log_extra),
    Place("evaluation.explanation", "otel_ai.evaluate(): an evaluation's explanation",
          tuple((c, None) for c in TEXT_CONTEXTS), _run_evaluation_explanation, shows="gen_ai.evaluation.explanation"),
    Place(
        "model_name", "model names (span names, metric attributes, warnings)", (("model", None),), _run_model_name,
        shows="metric gen_ai.client.operation.duration attribute 'gen_ai.request.model'",
    ),
    Place(
        "url.query",
        "query parameters of the request URL (api_key with no known prefix, every kind)",
        (("api_key", _kinds("opaque_credential")), ("query", None)),
        _run_url_query,
        shows="span 'POST' attribute",
    ),
    Place(
        "request_headers",
        "custom request headers (header capture on)",
        (
            ("customer_email_header", _kinds("email")),
            ("internal_token_header", _kinds("opaque_credential")),
            ("header", None),
        ),
        _run_request_headers,
        shows="http.request.header.x",
    ),
    Place(
        "response_headers",
        "response headers (header capture on)",
        (("internal_token_header", _kinds("opaque_credential")), ("response_header", None)),
        _run_response_headers,
        shows="http.response.header.x",
    ),
    Place("json_labels", "JSON with labels (aws_secret_access_key, xi-api-key) pasted into a prompt",
          (("json", None),), _run_json_labels, shows="gen_ai.input.messages"),
    Place("truncation", "text parts cut by OTEL_AI_CONTENT_MAX_LENGTH in the middle of a value",
          (("cut", None),), _run_truncation, shows="gen_ai.input.messages"),
    *ELEVENLABS_PLACES,
)

# The providers whose places live in their own module (tests/support/leak_<name>.py; see the docstring).
PROVIDERS: tuple[str, ...] = ("ollama", "anthropic", "mistral", "openai_audio", "bedrock", "bedrock_aio", "cohere",
                              "frameworks", "realtime", "gemini", "conversations")


def _provider_module(name: str) -> Any:
    package = __package__ or ""  # "tests.support" when imported; "" when run as a script
    return importlib.import_module(f"{package}.leak_{name}" if package else f"leak_{name}")


PLACES += tuple(place for name in PROVIDERS for place in _provider_module(name).places(sys.modules[__name__]))


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------


class App:
    def __init__(self, base_url: str, elevenlabs_url: str | None = None) -> None:
        import openai

        self.base_url = base_url
        client_place = next(p for p in PLACES if p.name == "client.api_key")
        self.api_key = planted_for(client_place)[0].value
        self.client = openai.OpenAI(base_url=base_url, api_key=self.api_key, max_retries=0)
        self.elevenlabs_url = elevenlabs_url
        self.providers: dict[str, Any] = {}  # name -> the provider's running simulator (PROVIDERS)
        if elevenlabs_url is not None:
            import elevenlabs

            key_place = next(p for p in PLACES if p.name == "elevenlabs.client.api_key")
            keys = {p.context: p.value for p in planted_for(key_place)}
            self.elevenlabs_key, self.elevenlabs_opaque_key = keys["api_key"], keys["opaque_api_key"]
            options = self._elevenlabs_options()
            self.elevenlabs = elevenlabs.ElevenLabs(api_key=self.elevenlabs_key, **options)
            self.elevenlabs_opaque = elevenlabs.ElevenLabs(api_key=self.elevenlabs_opaque_key, **options)

    def _elevenlabs_options(self) -> dict[str, Any]:
        from otel_ai.testing.elevenlabs_simulator import client_options

        assert self.elevenlabs_url is not None
        return client_options(self.elevenlabs_url)

    def async_elevenlabs(self) -> Any:
        """A new async ElevenLabs client (with the opaque key), one per event loop."""
        import elevenlabs

        return elevenlabs.AsyncElevenLabs(api_key=self.elevenlabs_opaque_key, **self._elevenlabs_options())

    def async_client(self) -> Any:
        """A new async client (one per event loop: its connections belong to the loop)."""
        import openai

        return openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=0)

    def supports(self, feature: str) -> bool:
        import openai

        if not feature:
            return True
        if feature == "responses":
            return hasattr(self.client, "responses")
        if feature == "chat_stream_helper":
            return hasattr(self.client.chat.completions, "stream")
        if feature == "callable_api_key":
            annotation = str(inspect.signature(openai.OpenAI.__init__).parameters["api_key"].annotation)
            return "Callable" in annotation
        if feature == "elevenlabs":
            return self.elevenlabs_url is not None
        if feature in PROVIDERS:
            return self.providers.get(feature) is not None
        raise ValueError(feature)


def main() -> int:
    from otel_ai.testing.simulator import OpenAISimulator

    calls: dict[str, int] = {}
    providers: dict[str, int] = {}
    skipped: list[str] = []
    with OpenAISimulator() as simulator, contextlib.ExitStack() as stack:
        speech = None  # the ElevenLabs simulator, where the elevenlabs client is installed
        if importlib.util.find_spec("elevenlabs") is not None:
            from otel_ai.testing.elevenlabs_simulator import ElevenLabsSimulator

            speech = stack.enter_context(ElevenLabsSimulator())
        app = App(simulator.base_url, speech.base_url if speech is not None else None)
        for name in PROVIDERS:
            app.providers[name] = _provider_module(name).start(stack)
        for place in PLACES:
            if not app.supports(place.needs):
                skipped.append(place.name)
                continue
            calls[place.name] = place.run(Ctx(app, place))
            providers[place.provider] = providers.get(place.provider, 0) + calls[place.name]
        requests = len(simulator.requests) + (len(speech.requests) if speech is not None else 0)
        # a simulator whose requests are not one per GenAI call (a Realtime session: one websocket,
        # a session span and one per response) says how many it answered as `genai_requests`
        requests += sum(getattr(sim, "genai_requests", None) or len(getattr(sim, "requests", ()))
                        for sim in app.providers.values() if sim is not None)
    summary = {
        "genai_calls": sum(calls.values()),
        "providers": providers,
        "calls": calls,
        "skipped": skipped,
        "simulator_requests": requests,
        "content_limit": _content_limit(),
    }
    print(SUMMARY_PREFIX + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
