"""Typed config of the ingest stage: where the corpus is (`source:`) and how it is cut (`ingest:`)."""

from __future__ import annotations

import codecs
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Format = Literal["jsonl", "json", "csv", "tsv", "parquet", "txt", "hf", "demo"]
DEMO_NAMES = ("reviews", "news", "interactions")
MiB = 1024 * 1024


class SourceConfig(BaseModel):
    """One corpus: a file, glob, folder, fsspec URL, HF dataset, or `demo://<name>`."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(description="path, glob, folder, fsspec URL (s3://...), HF save_to_disk folder or Hub id, demo://reviews|news|interactions")
    format: Format = Field(description="how the files are encoded")
    text_column: str = Field(default="text", description="column (or JSON key) holding the document text; ignored for txt")
    label_column: str | None = Field(default=None, description="column holding the class; cast to string")
    id_column: str | None = Field(default=None, description="column holding a unique id; derived from (file, position) when absent")
    encoding: str = Field(default="utf-8", description="text encoding of the files (an ASCII-compatible Python codec)")
    errors: Literal["replace", "quarantine"] = Field(
        default="replace", description="undecodable bytes: replaced (U+FFFD) and kept, or flagged for the clean stage's quarantine"
    )
    columns: list[str] = Field(default_factory=list, description="extra columns to carry (metadata, summary, user_id, ...)")
    column_types: dict[str, str] = Field(
        default_factory=dict, description="Arrow type alias per extra column (e.g. ts: int64); text formats carry scalars as string otherwise"
    )
    label_map: dict[str, str] = Field(default_factory=dict, description="raw label -> class name (e.g. '1': World); unmapped labels kept as is")
    label_normalize: Literal["none", "strip", "strip_lower"] = Field(
        default="none", description="trim whitespace (strip) and also lower-case (strip_lower) raw labels, before label_map"
    )
    label_values: list[str] | None = Field(
        default=None,
        min_length=1,
        description="the expected label set (after label_normalize and label_map); rows with another label are quarantined by clean, reason unexpected_label",
    )
    txt_mode: Literal["line", "file"] = Field(default="line", description="txt: one document per line, or one per file")
    split: str | None = Field(default=None, description="hf: which split to read")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="fsspec options, e.g. {endpoint_url: http://127.0.0.1:9000}")
    csv_delimiter: str | None = Field(default=None, description="csv/tsv delimiter; ',' for csv and tab for tsv when unset")
    csv_quoting: bool | None = Field(default=None, description="csv/tsv: honour double-quoted fields; on for csv, off for tsv when unset")
    csv_column_names: list[str] | None = Field(default=None, description="csv/tsv without a header row: the names of its columns")
    rows: int | None = Field(default=None, ge=1, description="demo: number of rows (reviews 3000, news 600, interactions 20000)")
    seed: int = Field(default=0, description="demo: random seed")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            name = codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        if name.startswith(("utf-16", "utf-32")):
            raise ValueError(f"encoding {value!r} is not ASCII-compatible; convert the files to UTF-8 first")
        return value

    @field_validator("column_types")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        import pyarrow as pa

        for column, alias in value.items():
            try:
                pa.type_for_alias(alias)
            except ValueError:
                raise ValueError(f"column_types.{column}: unknown Arrow type {alias!r} (e.g. string, int64, float64, bool)") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SourceConfig:
        is_demo_uri = self.uri.startswith("demo://")
        if self.format == "demo" and (not is_demo_uri or self.demo_name not in DEMO_NAMES):
            raise ValueError(f"format demo needs uri demo://<name> with name in {list(DEMO_NAMES)}, got {self.uri!r}")
        if is_demo_uri and self.format != "demo":
            raise ValueError(f"uri {self.uri!r} is a demo source: set format: demo")
        if self.rows is not None and self.format != "demo":
            raise ValueError("rows applies only to format: demo")
        if self.split is not None and self.format != "hf":
            raise ValueError("split applies only to format: hf")
        csv_keys = {"csv_delimiter": self.csv_delimiter, "csv_quoting": self.csv_quoting, "csv_column_names": self.csv_column_names}
        if self.format not in ("csv", "tsv") and any(v is not None for v in csv_keys.values()):
            raise ValueError(f"{[k for k, v in csv_keys.items() if v is not None]} apply only to format csv/tsv")
        if self.csv_delimiter is not None and len(self.csv_delimiter) != 1:
            raise ValueError(f"csv_delimiter must be one character, got {self.csv_delimiter!r}")
        if self.txt_mode == "file" and self.format != "txt":
            raise ValueError("txt_mode applies only to format: txt")
        if self.format == "txt" and (self.label_column or self.id_column or self.columns):
            raise ValueError("format txt has only text: label_column, id_column and columns do not apply")
        label_options = [k for k, on in (("label_values", self.label_values is not None), ("label_normalize", self.label_normalize != "none")) if on]
        if label_options and not self.label_column:
            raise ValueError(f"{label_options} need label_column")
        unknown = set(self.column_types) - set(self.columns)
        if unknown:
            raise ValueError(f"column_types names columns not listed in columns: {sorted(unknown)}")
        reserved = {"id", "text", "label", "encoding_error"} & set(self.columns)
        if reserved:
            raise ValueError(f"columns may not carry the standard names {sorted(reserved)}; use text_column/label_column/id_column")
        return self

    @property
    def delimiter(self) -> str:
        """csv/tsv field delimiter: `csv_delimiter`, else ',' for csv and tab for tsv."""
        return self.csv_delimiter or ("\t" if self.format == "tsv" else ",")

    @property
    def quoted(self) -> bool:
        """csv/tsv: whether fields may be double-quoted (and so hold newlines): on for csv, off for tsv."""
        return self.csv_quoting if self.csv_quoting is not None else self.format == "csv"

    @property
    def line_based(self) -> bool:
        """One record per line, so files can be cut at newlines: jsonl, txt lines, unquoted csv/tsv."""
        return self.format == "jsonl" or (self.format == "txt" and self.txt_mode == "line") or (self.format in ("csv", "tsv") and not self.quoted)

    @property
    def demo_name(self) -> str:
        """`reviews` for `demo://reviews` (empty for other URIs)."""
        return self.uri.removeprefix("demo://").strip("/") if self.uri.startswith("demo://") else ""


def expected_labels(sources: list[SourceConfig]) -> list[str] | None:
    """The union (sorted) of the sources' `label_values`, or None when no source sets it."""
    sets = [set(source.label_values) for source in sources if source.label_values is not None]
    return sorted(set().union(*sets)) if sets else None


class IngestConfig(BaseModel):
    """How the source is cut into shards (parallel tasks) and batches (memory bound)."""

    model_config = ConfigDict(extra="forbid")

    batch_rows: int = Field(default=8192, ge=1, description="most rows per record batch; bounds memory")
    shard_bytes: int = Field(default=64 * MiB, ge=1, description="target input bytes per shard (one task each)")
    read_block_bytes: int = Field(default=1 * MiB, ge=4096, description="bytes read from a file at a time")
