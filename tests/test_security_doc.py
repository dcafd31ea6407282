"""docs/security.md stays true: every test and vector it names exists."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# Named in docs/security.md, written on branches that are merged separately
# (attachment XSS; server hardening). Empty this set once they are in.
PENDING_ELSEWHERE = {"test_attachment_html_never_runs_in_origin",
                     "test_look_alike_username_cannot_register_beside_the_real_one",
                     "test_static_files_carry_the_security_headers"}


def test_threat_model_names_only_tests_and_vectors_that_exist():
    text = (REPO / "docs" / "security.md").read_text()
    sources = "\n".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py"))
    defined = set(re.findall(r"def (test_\w+)", sources))
    named = set(re.findall(r"`(test_\w+)`", text))
    assert named - defined <= PENDING_ELSEWHERE, sorted(named - defined - PENDING_ELSEWHERE)
    vectors = {p.stem for p in (REPO / "tests" / "vectors").glob("*.json")}
    for name in re.findall(r"`((?:envelope|attachment|keystore|key_export|request_signature|private_key|account)"
                           r"_\w+)`", text):
        if name == "keystore_key":  # a key, not a vector
            continue
        assert name in vectors or any(v.startswith(name) for v in vectors) or name.startswith("_"), name
