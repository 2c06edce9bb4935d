"""Typed config of the clean stage: `clean:` is an ordered list of steps, each a name or `{name: {params}}`.

Step names and parameter classes come from the step registry (`tasks/clean/steps.py`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, RootModel, model_validator

from tasks.clean.base import StepParams
from tasks.clean.steps import STEPS


class CleanConfig(RootModel[list[dict[str, Any]]]):
    """The ordered step list. Items: `name` or `{name: {params}}`; errors name `<index>.<name>.<param>`."""

    root: list[dict[str, Any]]

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("clean: expected a list of steps")
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                item = {item: {}}
            elif isinstance(item, BaseModel):
                item = {item.__class__.__name__: item}
            out.append(item)
        return out

    @model_validator(mode="after")
    def _validate_steps(self) -> CleanConfig:
        from pydantic import ValidationError
        from pydantic_core import InitErrorDetails, PydanticCustomError

        errors: list[InitErrorDetails] = []
        parsed: list[dict[str, Any]] = []
        for index, item in enumerate(self.root):
            if not isinstance(item, dict) or len(item) != 1:
                errors.append(
                    InitErrorDetails(type=PydanticCustomError("clean_step", "a step is a name or a one-key mapping {name: {params}}"), loc=(index,), input=item)
                )
                continue
            ((name, params),) = item.items()
            if name not in STEPS:
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError("clean_step", f"unknown step {name!r}; expected one of {', '.join(STEPS)}"), loc=(index, name), input=item
                    )
                )
                continue
            if isinstance(params, StepParams):
                parsed.append({name: params})
                continue
            try:
                parsed.append({name: STEPS[name].params_class.model_validate(params or {})})
            except ValidationError as exc:
                for err in exc.errors():
                    errors.append(InitErrorDetails(type=PydanticCustomError(err["type"], err["msg"]), loc=(index, name, *err["loc"]), input=err["input"]))
        if errors:
            raise ValidationError.from_exception_data(self.__class__.__name__, errors)
        self.root = parsed
        return self

    @classmethod
    def default(cls) -> CleanConfig:
        """normalize, length(min_words=3), exact_dedup, near_dedup, pii; language/quality/repetition are opt-in."""
        return cls.model_validate(["normalize", {"length": {"min_words": 3}}, "exact_dedup", "near_dedup", "pii"])

    def steps(self) -> list[tuple[str, StepParams]]:
        """The validated steps as (name, params) pairs, in configured order."""
        return [next(iter(item.items())) for item in self.root]
