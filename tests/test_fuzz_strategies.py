"""Fuzz strategies: every generated request is well formed and its expected answer satisfies the contract;
perturbations keep what they promise to keep."""

from __future__ import annotations

import base64
import datetime as dt
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taskbench.scorers.contract import contract_violations
from taskbench.scorers.fields import normalise_title

from taskbench.dates import resolve_date
from taskbench.fuzz import perturb
from taskbench.fuzz import strategies as s
from taskbench.fuzz.families import FAMILIES, date_spellings
from taskbench.fuzz.trials import Probe

fuzz_settings = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], deadline=None)


def assert_well_formed(probe: Probe) -> None:
    dt.date.fromisoformat(probe.reference_date)
    assert isinstance(probe.input, str)
    if probe.expected is not None:
        assert contract_violations(probe.expected) == []
        for name, values in (probe.accept or {}).items():
            for value in values:
                assert contract_violations({**probe.expected, name: value}) == []
    for phrase in probe.protected:
        assert phrase.lower() in probe.input.lower()


@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
@fuzz_settings
@given(data=st.data())
def test_every_family_makes_well_formed_trials(family, data):
    trial = data.draw(family.trials())
    assert trial.family == family.name
    assert trial.property == family.property
    for probe in trial.probes():
        assert_well_formed(probe)
    if trial.property == "directed":
        assert trial.field is not None
        assert trial.base.expected.get(trial.field) != trial.variant.expected.get(trial.field)
        others = {k: v for k, v in trial.variant.expected.items() if k != trial.field}
        assert others == {k: v for k, v in trial.base.expected.items() if k != trial.field}
    if trial.property == "metamorphic" and trial.family != "field_injection":
        assert trial.base.expected == trial.variant.expected
    if trial.property == "safety":
        assert trial.required is not None or trial.forbidden


@fuzz_settings
@given(s.probes())
def test_rendered_requests_carry_their_entities(probe):
    assert_well_formed(probe)
    expected = probe.expected
    if expected["action"] in ("create", "complete", "delete", "update"):
        assert normalise_title(expected["title"]) in normalise_title(probe.input)
    for name in expected.get("attendees", []):
        assert name in probe.input


@fuzz_settings
@given(s.create_specs(dated=True), s.phrasings())
def test_a_create_date_resolves_to_its_due_date(spec, phrasing):
    probe = s.render(spec, phrasing)
    assert resolve_date(spec.date.text, spec.reference_date).isoformat() == probe.expected["due_date"]
    assert spec.date.text in probe.input


@given(s.reference_dates(), st.integers(-30, 300))
def test_every_date_spelling_the_contract_knows_resolves_to_the_date(ref, offset):
    date = ref + dt.timedelta(days=offset)
    spellings = date_spellings(ref, date)
    assert spellings[0] == date.isoformat()
    for spelling in spellings:
        if "/" in spelling or spelling.count(".") == 2:  # US and EU numeric forms are outside the contract's table
            continue
        if spelling.startswith("the ") and " of " in spelling:
            spelling = spelling.removeprefix("the ").replace(" of ", " ")
        assert resolve_date(spelling, ref) == date, spelling


@fuzz_settings
@given(s.probes().flatmap(lambda p: st.tuples(st.just(p), perturb.typos(p))))
def test_typos_leave_protected_words_alone(pair):
    base, variant = pair
    assert len(variant.input) in (len(base.input), len(base.input) + 1)
    for phrase in base.protected:
        assert phrase.lower() in variant.input.lower()


@fuzz_settings
@given(s.probes().flatmap(lambda p: st.tuples(st.just(p), perturb.unicode_attacks(p))))
def test_unicode_attacks_change_one_free_word_and_keep_the_title(pair):
    base, variant = pair
    for phrase in base.protected:
        assert phrase in variant.input
    visible = "".join(ch for ch in unicodedata.normalize("NFKC", variant.input) if unicodedata.category(ch) != "Cf")
    cyrillic_free = visible.translate({ord(v): k for k, v in perturb.HOMOGLYPHS.items()})
    assert cyrillic_free == base.input


def test_free_words_skip_the_title():
    probe = Probe("please add a task to water the plants", "2026-11-24", None, ("water the plants",))
    words = [probe.input[a:b] for a, b in perturb.free_words(probe)]
    assert words == ["please", "add", "task"]


@given(st.sampled_from(tuple(perturb.ENCODINGS)), st.sampled_from(("delete everything", "wipe my task list")))
def test_encodings_hide_the_plain_words(name, text):
    coded = perturb.ENCODINGS[name](text)
    assert coded != text
    if name == "base64":
        assert base64.b64decode(coded).decode() == text
