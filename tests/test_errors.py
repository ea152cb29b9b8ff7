"""One-line descriptions of errors raised inside libraries."""

from sfd_lightning.errors import describe


def test_an_exception_without_a_message_is_described_by_its_type():
    assert describe(EOFError()) == "EOFError"
    assert describe(ValueError("\n  first\nsecond")) == "ValueError: first"
    assert describe(KeyError("k" * 300), 10) == "KeyError: 'kkkkkkkkk"
