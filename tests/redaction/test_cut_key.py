"""`cut_key`: an identifier cut to its limit keeps no piece of a secret split by the cut, stays a key.

The leak suite found the case (a key across the 256th character of a conversation or user id left a
12-character piece no pattern matched); these pin the function the ids are now cut with.
"""

from __future__ import annotations

import hashlib
import string

from hypothesis import given
from hypothesis import strategies as st

from otel_ai.genai.conversation import MAX_LENGTH, make
from otel_ai.privacy.cut import cut_key

KEY = "sk-proj-" + "Ab3" * 20


def test_short_ids_are_unchanged() -> None:
    assert cut_key("conv-42", MAX_LENGTH) == "conv-42"
    assert cut_key("x" * MAX_LENGTH, MAX_LENGTH) == "x" * MAX_LENGTH


def test_a_secret_split_by_the_cut_is_dropped_whole() -> None:
    text = "conv " + "x" * (MAX_LENGTH - 30) + " " + KEY
    out = cut_key(text, MAX_LENGTH)
    assert len(out) <= MAX_LENGTH
    assert out.startswith("conv ")
    assert "sk-proj" not in out and "Ab3Ab3" not in out
    assert out.endswith("~" + hashlib.sha256(text.encode()).hexdigest()[:16])


def test_one_long_run_still_gives_a_key_and_long_ids_stay_distinct() -> None:
    a, b = "a" * 300 + "1", "a" * 300 + "2"
    assert cut_key(a, MAX_LENGTH) != cut_key(b, MAX_LENGTH)
    assert cut_key(a, MAX_LENGTH)  # not emptied


def test_conversation_ids_and_users_are_cut_with_it() -> None:
    text = "user " + "x" * (MAX_LENGTH - 30) + " " + KEY
    conv = make(text, text)
    assert conv.id == cut_key(text, MAX_LENGTH) and conv.user == cut_key(text, MAX_LENGTH)
    assert "sk-proj" not in conv.attributes["gen_ai.conversation.id"]


_TOKEN = string.ascii_letters + string.digits + "_-+/=.@:~%"


@given(st.text(alphabet=_TOKEN + " \n", max_size=400), st.integers(min_value=20, max_value=300))
def test_properties(text: str, limit: int) -> None:
    out = cut_key(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
    else:
        head, _, digest = out.rpartition("~")
        assert len(digest) == 16 and text.startswith(head)
        # the kept head ends where a token-like run ends in the original (no run split at the cut)
        assert not head or head[-1] not in _TOKEN or text[len(head)] not in _TOKEN
