"""Interaction sources (user, item, time, optional rating/event) and their optional items source.

YAML `pipelines.<p>.interactions` maps the source's own column names onto the standard interaction
columns `user_id`, `item_id`, `ts` (int64), `rating` (float64) and `event` (string), drops rows
below `min_rating` or outside `events`, and sets each row's `text` to its item's text from the
items source (`interactions.items`, read with the same readers as any source), so the clean,
tokenize and train stages see the items' words. Item groups (e.g. MovieLens genres) travel as
`item_groups` ("Action|Comedy"), used by the exposure report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.shards import IngestError

STANDARD = {"user": "user_id", "item": "item_id", "time": "ts", "rating": "rating", "event": "event"}
GROUPS_COLUMN = "item_groups"
GROUP_SEPARATOR = "|"
TRUE_FLAGS = {"1", "true", "yes", "y", "t"}


class ItemsConfig(SourceConfig):
    """`interactions.items`: item id -> text (and groups), read like any source (csv/tsv/parquet/jsonl,
    any fsspec URL). `text_column` (e.g. title) plus `text_columns` are joined with ". "; every
    `flag_columns` column whose value is 1/true makes its column name a group of the item (and adds
    it to the text: MovieLens genre flags); `group_column` holds groups separated by `|`."""

    id_column: str = Field(description="column holding the item id, as in the interactions' item column")
    text_columns: list[str] = Field(default_factory=list, description="more columns appended to the item text")
    flag_columns: list[str] = Field(default_factory=list, description="0/1 columns: the names of the set ones are the item's groups")
    group_column: str | None = Field(default=None, description="column of '|'-separated groups (e.g. genres)")
    groups_in_text: bool = Field(default=True, description="append the item's groups to its text")

    @model_validator(mode="after")
    def _readable(self) -> ItemsConfig:
        try:
            self.reader_source()
        except ValidationError as error:
            raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())) from None
        return self

    def reader_source(self) -> SourceConfig:
        """The plain source the readers read: the item columns carried as extra columns."""
        extra = [*self.text_columns, *self.flag_columns, *([self.group_column] if self.group_column else [])]
        fields = self.model_dump(exclude={"text_columns", "flag_columns", "group_column", "groups_in_text", "columns", "column_types"})
        return SourceConfig(**fields, columns=list(dict.fromkeys(c for c in extra if c not in (self.text_column, self.id_column))))


class InteractionsConfig(BaseModel):
    """YAML `pipelines.<p>.interactions`: which source columns are the user, item, time, rating and
    event of an interaction, which rows count, and where item texts come from."""

    model_config = ConfigDict(extra="forbid")

    user_column: str = Field(default="user_id", description="source column of the user id")
    item_column: str = Field(default="item_id", description="source column of the item id")
    time_column: str | None = Field(default=None, description="source column of the event time (integer epoch or ISO date); null: order by id")
    rating_column: str | None = Field(default=None, description="source column of an explicit rating (carried as `rating`)")
    min_rating: float | None = Field(default=None, description="keep only rows with rating >= min_rating (needs rating_column)")
    event_column: str | None = Field(default=None, description="source column of the event type (view, buy, ...; carried as `event`)")
    events: list[str] | None = Field(default=None, min_length=1, description="keep only these event types (needs event_column)")
    items: ItemsConfig | None = Field(default=None, description="items source: item id -> text (+ groups)")

    @model_validator(mode="after")
    def _consistent(self) -> InteractionsConfig:
        if self.min_rating is not None and self.rating_column is None:
            raise ValueError("min_rating needs rating_column")
        if self.events is not None and self.event_column is None:
            raise ValueError("events needs event_column")
        named = [c for c in self.source_columns()]
        if len(set(named)) != len(named):
            raise ValueError(f"user/item/time/rating/event columns must differ, got {named}")
        return self

    def source_columns(self) -> list[str]:
        """The source columns an interaction needs, user and item first."""
        return [c for c in (self.user_column, self.item_column, self.time_column, self.rating_column, self.event_column) if c]

    def standard_names(self) -> dict[str, str]:
        """Source column -> standard interaction column."""
        pairs = [
            (self.user_column, "user"),
            (self.item_column, "item"),
            (self.time_column, "time"),
            (self.rating_column, "rating"),
            (self.event_column, "event"),
        ]
        return {column: STANDARD[role] for column, role in pairs if column}

    def fit_source(self, source: SourceConfig) -> SourceConfig:
        """The interactions source with the interaction columns carried; its `text_column` is the
        item column unless set explicitly (the text is replaced by the item's text anyway)."""
        update: dict[str, Any] = {"columns": list(dict.fromkeys([*source.columns, *self.source_columns()]))}
        if "text_column" not in source.model_fields_set:
            update["text_column"] = self.item_column
        clash = {"id", "text", "label", "encoding_error"} & set(self.source_columns())
        if clash:
            raise ValueError(f"interaction columns may not be named {sorted(clash)}")
        return source.model_copy(update=update)


@dataclass
class ItemTable:
    """Item id -> text and groups (as read from the items source)."""

    text: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    duplicates: int = 0


def item_key(value: Any) -> str:
    """An item or user id as a string (`242`, `242.0` and `"242"` are the same id)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def load_items(items: ItemsConfig, cfg: IngestConfig) -> ItemTable:
    """Read the items source -> `ItemTable` (the first row of a repeated id wins, counted)."""
    from tasks.ingest.readers import plan_shards, read_shard

    source = items.reader_source()
    table = ItemTable()
    for shard in plan_shards(source, cfg):
        for batch in read_shard(shard, source, cfg):
            for row in batch.to_pylist():
                key = item_key(row["id"])
                if key in table.text:
                    table.duplicates += 1
                    continue
                groups = [c for c in items.flag_columns if str(row.get(c) or "").strip().lower() in TRUE_FLAGS]
                if items.group_column and row.get(items.group_column):
                    groups += [g.strip() for g in str(row[items.group_column]).split(GROUP_SEPARATOR) if g.strip()]
                parts = [row["text"], *(str(row.get(c) or "") for c in items.text_columns)]
                if items.groups_in_text and groups:
                    parts.append(", ".join(groups))
                table.text[key] = ". ".join(p.strip() for p in parts if p and p.strip())
                table.groups[key] = list(dict.fromkeys(groups))
    return table


def _int_time(column: pa.Array, name: str) -> pa.Array:
    """Event times -> int64 (epoch numbers as they are; ISO dates/timestamps as epoch seconds)."""
    if pa.types.is_integer(column.type):
        return column.cast(pa.int64())
    if pa.types.is_floating(column.type):
        return pc.floor(column).cast(pa.int64())
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return column.cast(pa.timestamp("s")).cast(pa.int64())
    text = column.cast(pa.string())
    try:
        return pc.floor(text.cast(pa.float64())).cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return pc.strptime(text, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=False).cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return text.cast(pa.timestamp("s")).cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise IngestError(f"interactions.time_column {name!r}: values are neither epoch numbers nor ISO dates ({error})") from error


def to_interactions(batch: pa.RecordBatch, cfg: InteractionsConfig, items: ItemTable | None, counters: dict[str, int]) -> pa.RecordBatch:
    """One standard batch of the interactions source -> standard interaction rows: renamed columns,
    typed `ts`/`rating`, the filters applied (counted in `counters`), `text` = the item's text."""
    table = pa.Table.from_batches([batch])
    names = cfg.standard_names()
    keep = pc.and_(pc.is_valid(table[cfg.user_column]), pc.is_valid(table[cfg.item_column]))
    for column in (cfg.user_column, cfg.item_column):
        values = table[column].cast(pa.string())
        keep = pc.and_(keep, pc.invert(pc.equal(pc.fill_null(pc.utf8_trim_whitespace(values), ""), "")))
    counters["missing_user_or_item"] = counters.get("missing_user_or_item", 0) + table.num_rows - int(pc.sum(keep).as_py() or 0)
    table = table.filter(keep)
    columns: dict[str, pa.Array] = {}
    for column, standard in names.items():
        values = table[column].combine_chunks()
        if standard == "ts":
            values = _int_time(values, column)
        elif standard == "rating":
            try:
                values = values.cast(pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise IngestError(f"interactions.rating_column {column!r}: not numeric ({error})") from error
        elif standard in ("user_id", "item_id"):
            values = pa.array([item_key(v) for v in values.to_pylist()], pa.string())
        else:
            values = values.cast(pa.string())
        columns[standard] = values
    mask = None
    if cfg.min_rating is not None:
        mask = pc.greater_equal(pc.fill_null(columns["rating"], float("-inf")), cfg.min_rating)
        counters["below_min_rating"] = counters.get("below_min_rating", 0) + len(mask) - int(pc.sum(mask).as_py() or 0)
    if cfg.events is not None:
        wanted = pc.is_in(columns["event"], value_set=pa.array(cfg.events, pa.string()))
        counters["other_events"] = counters.get("other_events", 0) + int(pc.sum(pc.invert(pc.fill_null(wanted, False))).as_py() or 0)
        mask = wanted if mask is None else pc.and_(mask, wanted)
    item_ids = columns["item_id"].to_pylist()
    text = table["text"].combine_chunks()
    if items is not None:
        found = [i in items.text for i in item_ids]
        counters["items_without_text"] = counters.get("items_without_text", 0) + found.count(False)
        text = pa.array([items.text.get(i, i) for i in item_ids], pa.string())
    out = {"id": table["id"], "text": text, "label": table["label"], **columns}
    if items is not None and items.groups:
        out[GROUPS_COLUMN] = pa.array([GROUP_SEPARATOR.join(items.groups.get(i, [])) for i in item_ids], pa.string())
    for name in table.column_names:
        if name not in out and name not in names and name != "encoding_error":
            out[name] = table[name]
    out["encoding_error"] = table["encoding_error"]
    result = pa.table(out)
    if mask is not None:
        result = result.filter(pc.fill_null(mask, False))
    return result.combine_chunks().to_batches()[0] if result.num_rows else pa.RecordBatch.from_pylist([], schema=result.schema)


def interaction_batches(batches: Iterator[pa.RecordBatch], cfg: InteractionsConfig, ingest: IngestConfig, counters: dict[str, int]) -> Iterator[pa.RecordBatch]:
    """Standard batches of the interactions source -> standard interaction batches (empty ones skipped)."""
    items = load_items(cfg.items, ingest) if cfg.items is not None else None
    for batch in batches:
        out = to_interactions(batch, cfg, items, counters)
        if out.num_rows:
            yield out
