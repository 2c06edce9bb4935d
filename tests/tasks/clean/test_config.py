import pytest
from pydantic import BaseModel, ValidationError

from tasks.clean.config import CleanConfig
from tasks.clean.dedup import NearDedupParams
from tasks.clean.filters import LengthParams


class Pipeline(BaseModel):
    clean: CleanConfig = CleanConfig.default()


def test_default_steps():
    names = [name for name, _ in Pipeline().clean.steps()]
    assert names == ["normalize", "length", "exact_dedup", "near_dedup", "pii"]


def test_name_or_mapping_items():
    cfg = Pipeline.model_validate({"clean": ["normalize", {"length": {"min_words": 5}}, {"language": {"keep": ["zh"]}}]}).clean
    (_, length), (_, language) = cfg.steps()[1:]
    assert isinstance(length, LengthParams) and length.min_words == 5
    assert language.keep == ["zh"]


@pytest.mark.parametrize(
    "steps, loc",
    [
        (["normalize", "foo"], "clean.1.foo"),
        (["normalize", "exact_dedup", {"length": {"min_words": -1}}], "clean.2.length.min_words"),
        ([{"length": {"minwords": 3}}], "clean.0.length.minwords"),
        ([{"near_dedup": {"num_perm": 100, "bands": 16}}], "clean.0.near_dedup"),
    ],
)
def test_errors_name_the_key_path(steps, loc):
    with pytest.raises(ValidationError) as info:
        Pipeline.model_validate({"clean": steps})
    assert loc in str(info.value)


def test_round_trip():
    cfg = Pipeline.model_validate({"clean": ["pii", {"near_dedup": {"bands": 32}}]})
    again = Pipeline.model_validate(cfg.model_dump())
    assert again.clean.steps()[1][1] == NearDedupParams(bands=32)
