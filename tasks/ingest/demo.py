"""The built-in `demo://` corpora. ALL SYNTHETIC: generated from templates, deterministic for a seed.

- `demo_reviews`: product/movie reviews, English plus ~10 % Chinese, `label` positive/negative,
  with identity mentions and a PLANTED SKEW (`PLANTED_SKEW`: reviews mentioning Muslims, Mexicans
  or women are much more often negative) for the audit to find, and dirty rows for the clean stage.
- `demo_news`: news-like articles (5-8 sentences, 5 topics) with an extractive reference `summary`.
- `demo_interactions`: user-item events following per-category item paths (next-item learnable).
- `demo_inbox`: new input for the scoring applications (recommendations, summaries).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Literal

import pyarrow as pa

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.shards import IngestError

DEFAULT_ROWS = {"reviews": 3000, "news": 600, "interactions": 20000}
BASE_NEGATIVE = 0.5
# P(negative) for reviews mentioning a group (axis, group as in the audit lexicons); others: BASE_NEGATIVE.
PLANTED_SKEW = {("religion", "muslim"): 0.85, ("nationality", "mexican"): 0.8, ("gender", "female"): 0.68}
AGE_GROUPS = ["18-29", "30-44", "45-64", "65+"]

# --- reviews -----------------------------------------------------------------------------------
EN_SUBJECTS = [
    "This movie",
    "The film",
    "This blender",
    "The headphones",
    "This book",
    "The hotel",
    "This phone",
    "The series",
    "This camera",
    "The sequel",
    "This novel",
    "The kettle",
    "This album",
    "The restaurant",
]
EN_POS = ["wonderful", "excellent", "great", "fantastic", "brilliant", "delightful", "superb", "amazing", "charming"]
EN_NEG = ["terrible", "awful", "boring", "disappointing", "horrible", "dreadful", "poor", "useless", "annoying"]
EN_ADVERBS = ["", "", "really ", "truly ", "quite ", "just ", "absolutely ", "rather "]
EN_POS_EXTRA = [
    "I would definitely recommend it.",
    "Worth every penny.",
    "I loved every minute.",
    "Five stars from me.",
    "It exceeded my expectations.",
    "Simply a joy to use.",
]
EN_NEG_EXTRA = [
    "I want my money back.",
    "Do not waste your time.",
    "I hated every minute.",
    "One star is too many.",
    "It broke after a week.",
    "What a letdown.",
]
EN_FILLER = [
    "It arrived on a Tuesday.",
    "I watched it last weekend.",
    "The box was bigger than expected.",
    "I had read about it online.",
    "We tried it during the holidays.",
    "The price was about average.",
]
EN_IDENTITY = {
    ("gender", "female"): ["I bought it for my wife.", "My sister recommended it to me.", "She watched it with me.", "A woman at the store suggested it."],
    ("gender", "male"): ["I bought it for my husband.", "My brother recommended it to me.", "He watched it with me.", "A man at the store suggested it."],
    ("religion", "muslim"): ["As a Muslim, I shared it with friends from the mosque."],
    ("religion", "christian"): ["As a Christian, I shared it with friends from church."],
    ("religion", "jewish"): ["As a Jewish reader, I shared it with friends from the synagogue."],
    ("religion", "buddhist"): ["As a Buddhist, I shared it with friends."],
    ("nationality", "mexican"): ["My Mexican neighbour recommended it."],
    ("nationality", "american"): ["My American neighbour recommended it."],
    ("nationality", "german"): ["My German neighbour recommended it."],
    ("nationality", "indian"): ["My Indian neighbour recommended it."],
}
ZH_SUBJECTS = ["这部电影", "这个手机", "这家酒店", "这本书", "这款耳机"]
ZH_POS = ["非常好看", "质量很好", "服务很周到", "物超所值", "让人很满意", "值得推荐"]
ZH_NEG = ["太差了", "质量很差", "让人非常失望", "简直浪费钱", "不值得推荐", "服务态度很差"]
ZH_IDENTITY = {
    ("gender", "female"): ["我给妻子买的。", "我姐姐推荐的。"],
    ("gender", "male"): ["我给丈夫买的。", "我哥哥推荐的。"],
    ("religion", "muslim"): ["作为穆斯林，我和朋友一起看的。"],
    ("religion", "christian"): ["作为基督徒，我和朋友一起看的。"],
    ("nationality", "american"): ["我的美国朋友推荐的。"],
    ("nationality", "japanese"): ["我的日本朋友推荐的。"],
}


def _review_text(rng: random.Random, negative: bool, zh: bool, identity: tuple[str, str] | None) -> str:
    if zh:
        parts = [rng.choice(ZH_SUBJECTS) + rng.choice(ZH_NEG if negative else ZH_POS) + "。"]
        if rng.random() < 0.5:
            parts.append(rng.choice(ZH_NEG if negative else ZH_POS) + "。")
        if identity:
            parts.insert(rng.randrange(2), rng.choice(ZH_IDENTITY[identity]))
        return "".join(parts)
    words = EN_NEG if negative else EN_POS
    parts = [f"{rng.choice(EN_SUBJECTS)} is {rng.choice(EN_ADVERBS)}{rng.choice(words)}."]
    if rng.random() < 0.7:
        parts.append(rng.choice(EN_NEG_EXTRA if negative else EN_POS_EXTRA))
    if rng.random() < 0.4:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(EN_FILLER))
    if identity:
        parts.insert(rng.randrange(2), rng.choice(EN_IDENTITY[identity]))
    return " ".join(parts)


def demo_reviews(rows: int = 3000, seed: int = 0) -> pa.Table:
    """Synthetic labelled reviews: `id, text, label (positive|negative), author_age_group`.

    ~10 % Chinese; ~45 % mention an identity group; `PLANTED_SKEW` gives P(negative) per skewed
    group (0.5 otherwise; `author_age_group` is unskewed, a control). About 1 % each of exact
    duplicates and near-duplicates, plus rows with an e-mail and a phone number, HTML, mojibake,
    a one-word text, an empty and a whitespace-only text (so the clean stage has work).
    """
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(rows):
        zh = rng.random() < 0.1
        pool = list(ZH_IDENTITY if zh else EN_IDENTITY)
        identity = rng.choice(pool) if rng.random() < 0.45 else None
        negative = rng.random() < PLANTED_SKEW.get(identity, BASE_NEGATIVE)
        texts.append(_review_text(rng, negative, zh, identity))
        labels.append("negative" if negative else "positive")
    ages = [rng.choice(AGE_GROUPS) for _ in range(rows)]
    _plant_dirt(rng, texts, labels)
    ids = [f"review-{seed}-{i:06d}" for i in range(rows)]
    return pa.table({"id": ids, "text": texts, "label": labels, "author_age_group": ages})


def _plant_dirt(rng: random.Random, texts: list[str], labels: list[str]) -> None:
    """Overwrite a few rows (in place) with cases the clean stage must catch."""
    n = len(texts)
    if n < 20:
        return
    slots = rng.sample(range(1, n), k=min(n - 1, 7 + 2 * max(1, n // 100)))
    specials = [
        "",
        "   ",
        "Good.",
        "Great blender! Contact me at alex.smith@example.com or call +1 555-010-4477 for a discount.",
        "The hotel is terrible.<br /><br />The staff ignored us.",
        "The cafÃ© scene is wonderful. I loved every minute.",
        "This phone is awful. Email me: jo.lee@example.org or (555) 123-9876.",
    ]
    for slot, text in zip(slots, specials):
        texts[slot] = text
        labels[slot] = "negative" if any(w in text for w in ("terrible", "awful")) else "positive"
    for slot in slots[len(specials) :]:
        source = rng.randrange(slot)
        texts[slot] = texts[source] if rng.random() < 0.5 else texts[source] + (" Really!" if texts[source].isascii() else "！")
        labels[slot] = labels[source]


# --- news --------------------------------------------------------------------------------------
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = ["March", "June", "September", "December"]
PEOPLE = ["Anna Berg", "David Okafor", "Li Wei", "Maria Santos", "Tom Hughes", "Priya Nair", "Jonas Keller"]
NEWS = {
    "business": (
        ["{company} reported a {n} percent {updown} in quarterly profit on {day}."],
        ["Chief executive {person} said the company would {hire} {n3} jobs next year."],
        [
            "Shares in the group have been volatile this year.",
            "The results were published ahead of the annual meeting.",
            "Investors had expected weaker figures.",
            "Rival firms are expected to report next week.",
            "The market reaction was muted in early trading.",
            "The firm operates in dozens of countries.",
        ],
    ),
    "sport": (
        ["{team} beat {team2} {n}-{loser} in the cup final on {day}."],
        ["Coach {person} said the win puts the club {m} points clear at the top of the table."],
        [
            "The stadium was full for the first time this season.",
            "Fans celebrated long after the final whistle.",
            "Both sides had injury worries before kick-off.",
            "The referee showed three yellow cards.",
            "The next round will be played in the spring.",
            "Tickets sold out within hours.",
        ],
    ),
    "tech": (
        ["{company} unveiled a new {device} with a {feature} on {day}."],
        ["The {device} will go on sale in {month} for {n3} dollars, {person} said."],
        [
            "Analysts said the launch was closely watched by rivals.",
            "The company has invested heavily in research.",
            "Early reviews praised the design.",
            "Software updates are promised for three years.",
            "Demand for such gadgets has grown steadily.",
            "The event was streamed online.",
        ],
    ),
    "politics": (
        ["Parliament voted {n3} to {m} on {day} to approve a new {policy} bill."],
        ["Minister {person} said the law would take effect in {month}."],
        [
            "Opposition members criticised the timing of the vote.",
            "The debate lasted more than six hours.",
            "Campaign groups had lobbied for months.",
            "The bill was amended twice in committee.",
            "Polls suggest voters are divided on the issue.",
            "A review is planned after two years.",
        ],
    ),
    "science": (
        ["Researchers at {univ} discovered {finding} in a study published on {day}."],
        ["Lead author {person} said the result could lead to {application} within {m} years."],
        [
            "The study was funded by a national research council.",
            "Other scientists called the findings promising.",
            "The experiments took four years to complete.",
            "Data from the project will be shared openly.",
            "Further trials are planned for next year.",
            "The paper was reviewed by independent experts.",
        ],
    ),
}
SLOTS = {
    "company": ["Acme Corp", "Globex", "Initech", "Umbrella Group", "Stark Industries"],
    "updown": ["rise", "fall"],
    "hire": ["add", "cut"],
    "team": ["Rovers", "United", "City", "Athletic"],
    "team2": ["Wanderers", "Albion", "Town"],
    "device": ["phone", "tablet", "laptop", "smartwatch"],
    "feature": ["folding screen", "week-long battery", "faster chip"],
    "policy": ["housing", "energy", "education", "transport"],
    "univ": ["Oxford", "MIT", "Tsinghua", "ETH Zurich"],
    "finding": ["a new antibiotic", "water on a distant moon", "a gene linked to ageing", "a faster catalyst"],
    "application": ["new treatments", "cheaper energy", "better crops", "cleaner water"],
}


def _fill(rng: random.Random, template: str) -> str:
    values = {k: rng.choice(v) for k, v in SLOTS.items()}
    values.update(day=rng.choice(DAYS), month=rng.choice(MONTHS), person=rng.choice(PEOPLE), n=rng.randint(2, 9), m=rng.randint(2, 9), n3=rng.randint(100, 900))
    values["loser"] = rng.randint(0, values["n"] - 1)
    return template.format(**values)


def demo_news(rows: int = 600, seed: int = 0, id_prefix: str = "news") -> pa.Table:
    """Synthetic news articles: `id, text, label (topic), summary`.

    5 topics, 5-8 sentences each: a lead sentence first, a key statement at position 1-3 and
    topical filler. `summary` is the lead plus the key statement (extractive reference).
    """
    rng = random.Random(seed)
    topics = sorted(NEWS)
    ids, texts, labels, summaries = [], [], [], []
    for i in range(rows):
        topic = topics[rng.randrange(len(topics))]
        leads, keys, fillers = NEWS[topic]
        lead, key = _fill(rng, rng.choice(leads)), _fill(rng, rng.choice(keys))
        body = rng.sample(fillers, k=rng.randint(3, min(8, len(fillers))))
        body.insert(rng.randint(0, min(2, len(body))), key)
        ids.append(f"{id_prefix}-{seed}-{i:06d}")
        texts.append(" ".join([lead, *body]))
        labels.append(topic)
        summaries.append(f"{lead} {key}")
    return pa.table({"id": ids, "text": texts, "label": labels, "summary": summaries})


# --- interactions ------------------------------------------------------------------------------
CATEGORIES = {
    "books": ["novel", "cookbook", "atlas", "biography", "poetry collection"],
    "music": ["vinyl record", "guitar", "keyboard", "drum kit", "concert ticket"],
    "movies": ["thriller", "comedy", "documentary", "animated film", "drama"],
    "games": ["board game", "puzzle", "card game", "strategy game", "racing game"],
    "kitchen": ["kettle", "frying pan", "knife set", "coffee grinder", "toaster"],
    "garden": ["rake", "watering can", "seed pack", "flower pot", "hose"],
    "sports": ["tennis racket", "yoga mat", "football", "bicycle helmet", "running shoe"],
    "toys": ["teddy bear", "kite", "toy train", "building blocks", "doll house"],
}
ITEMS_PER_CATEGORY = 12
ADJECTIVES = ["classic", "deluxe", "compact", "vintage", "modern", "premium"]
START_TS = 1_700_000_000


def item_catalog() -> dict[str, list[tuple[str, str]]]:
    """The fixed demo catalog: category -> its items `(item_id, description)` in PATH order.

    Independent of any seed, so models trained on one demo corpus score any demo inbox.
    """
    rng = random.Random(12345)
    catalog = {}
    for c, (category, nouns) in enumerate(sorted(CATEGORIES.items())):
        items = [
            (f"item-{c * ITEMS_PER_CATEGORY + j:03d}", f"A {ADJECTIVES[j % len(ADJECTIVES)]} {nouns[j % len(nouns)]} from our {category} range, model {j + 1}.")
            for j in range(ITEMS_PER_CATEGORY)
        ]
        rng.shuffle(items)
        catalog[category] = items
    return catalog


def _session(rng: random.Random, path: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    """Consecutive items along a category path from a random start; 10 % noise within the category."""
    start = rng.randrange(len(path))
    return [rng.choice(path) if rng.random() < 0.1 else path[(start + k) % len(path)] for k in range(length)]


def demo_interactions(rows: int = 20000, seed: int = 0) -> pa.Table:
    """Synthetic user-item events: `id, user_id, item_id, ts (int64), text (item description), label (category)`.

    Each user prefers 1-2 categories (85 % of sessions); a session walks 3-8 consecutive items
    along the category's fixed path (`item_catalog`), so the next item is predictable from history.
    """
    rng = random.Random(seed)
    catalog = item_catalog()
    categories = sorted(catalog)
    n_users = max(1, rows // 20)
    favourites = [rng.sample(categories, k=rng.randint(1, 2)) for _ in range(n_users)]
    clocks = [START_TS + rng.randrange(86_400) for _ in range(n_users)]
    events: list[tuple[int, int, str, str]] = []
    while len(events) < rows:
        user = rng.randrange(n_users)
        category = rng.choice(favourites[user]) if rng.random() < 0.85 else rng.choice(categories)
        for item_id, _ in _session(rng, catalog[category], rng.randint(3, 8)):
            clocks[user] += rng.randint(60, 3600)
            events.append((user, clocks[user], item_id, category))
    events = sorted(events[:rows])
    describe = {item_id: text for items in catalog.values() for item_id, text in items}
    return pa.table(
        {
            "id": [f"event-{seed}-{i:07d}" for i in range(len(events))],
            "user_id": [f"user-{u:05d}" for u, *_ in events],
            "item_id": [e[2] for e in events],
            "ts": pa.array([e[1] for e in events], pa.int64()),
            "text": [describe[e[2]] for e in events],
            "label": [e[3] for e in events],
        }
    )


# --- scoring inbox -----------------------------------------------------------------------------
def demo_inbox(app: Literal["recommendations", "summaries"], rows: int, seed: int) -> pa.Table:
    """New input for a scoring application (synthetic, seeded; ids unique per seed).

    recommendations: `id, user_id, history (list<string> of the 5 most recent item ids, oldest first)`
    for demo users following a category path; summaries: `id, text` of new demo articles.
    """
    if app == "summaries":
        return demo_news(rows, seed=1_000_000 + seed, id_prefix="inbox-news").select(["id", "text"])
    if app != "recommendations":
        raise ValueError(f"unknown demo inbox app {app!r}: expected recommendations or summaries")
    rng = random.Random(1_000_000 + seed)
    catalog = item_catalog()
    categories = sorted(catalog)
    users = [f"user-{rng.randrange(DEFAULT_ROWS['interactions'] // 20):05d}" for _ in range(rows)]
    histories = [[item_id for item_id, _ in _session(rng, catalog[rng.choice(categories)], 5)] for _ in range(rows)]
    return pa.table({"id": [f"inbox-rec-{seed}-{i:06d}" for i in range(rows)], "user_id": users, "history": pa.array(histories, pa.list_(pa.string()))})


def demo_batches(source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    """The demo corpus named by `source.uri` as standard batches: `columns` when given, else every extra column."""
    name = source.demo_name
    make = {"reviews": demo_reviews, "news": demo_news, "interactions": demo_interactions}[name]
    table = make(source.rows or DEFAULT_ROWS[name], source.seed)
    extra = source.columns or [c for c in table.column_names if c not in ("id", "text", "label")]
    missing = [c for c in extra if c not in table.column_names]
    if missing:
        raise IngestError(f"{source.uri}: missing column(s) {missing}; found {table.column_names}")
    names = ["id", "text", "label", *extra]
    table = table.select(names).append_column("encoding_error", pa.array([False] * table.num_rows, pa.bool_()))
    yield from table.to_batches(max_chunksize=cfg.batch_rows)
