"""Users' texts and feature tokens in Spark: Spark groups each user's posts, the numba tokeniser
(udfs.tokenizer, where the token rules are) runs inside mapInArrow.

Three uses share one tokeniser, so training, MI and scoring can never disagree on a token:
`class_counts` (token_mi), `with_vocab_indices` (train) and the scorer (udfs.arrow_adapter).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType

from udfs.tokenizer import CAPTION_FAMILIES, FAMILIES, FEATURE_SEP, PROFILE_FAMILIES, family_codes

__all__ = ["CAPTION_FAMILIES", "FAMILIES", "FEATURE_SEP", "PROFILE_FAMILIES", "user_texts", "text_columns", "class_counts",
           "with_vocab_indices", "user_tokens"]


def user_texts(profiles: DataFrame, posts: DataFrame, keep: tuple[str, ...] = ()) -> DataFrame:
    """(user_id, *keep, biography, full_name, captions array<string>): one row per profile, its
    captions newest first (a target may read only the newest few); a profile without posts gets
    an empty list."""
    order = [c for c in ("taken_at", "post_id") if c in posts.columns]  # absent in bare (user_id, caption) frames
    newest_first = F.sort_array(F.collect_list(F.struct(*order, "caption")), asc=False)
    captions = posts.groupBy("user_id").agg(F.transform(newest_first, lambda p: p["caption"]).alias("captions"))
    return (profiles.select("user_id", *keep, "biography", "full_name").join(captions, "user_id", "left")
            .withColumn("captions", F.coalesce("captions", F.array().cast("array<string>"))))


def text_columns(families) -> tuple[str, ...]:
    """The user_texts columns the given token families read (the tokeniser treats an absent
    column as empty text), so a job hands Python only the text its vocab can use."""
    family_codes(families)  # rejects unknown families
    wanted = {"biography": any(f in ("bio_word", "bio_char") for f in families),
              "full_name": any(f in ("name_word", "name_char") for f in families),
              "captions": any(f in CAPTION_FAMILIES for f in families)}
    return tuple(c for c, used in wanted.items() if used)


def _count_partition(batches, families, classes):
    from udfs.tokenizer import TokenCounter

    counter = TokenCounter(families, len(classes))
    for batch in batches:
        counter.add(batch, batch.column("label_index").to_numpy(zero_copy_only=False))
    yield from counter.result(classes).to_batches(max_chunksize=1 << 20)


def class_counts(texts: DataFrame, families, classes) -> DataFrame:
    """(family, token, label, count): labelled users per token and class. `texts` = user_texts
    with a `label` column; counts are summed per partition in numba, then across partitions."""
    position = F.array_position(F.array(*[F.lit(c) for c in classes]), F.col("label")) - 1
    fams, names = tuple(families), list(classes)
    partial = (texts.withColumn("label_index", position.cast("int"))
               .mapInArrow(lambda it: _count_partition(it, fams, names),
                           "family string, token string, label string, count long"))
    return partial.groupBy("family", "token", "label").agg(F.sum("count").alias("count"))


def _index_partition(batches, vocab, keep):
    import pyarrow as pa

    from udfs.tokenizer import VocabLookup

    lookup = VocabLookup(vocab)
    for batch in batches:
        offsets, values, counts = lookup.csr_counts(batch)
        lists = [pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), pa.array(v, pa.int32()))
                 .cast(pa.list_(pa.int32())) for v in (values, counts)]
        yield pa.RecordBatch.from_arrays([batch.column(c) for c in keep] + lists,
                                         names=list(keep) + ["indices", "counts"])


def with_vocab_indices(texts: DataFrame, vocab: list[str], keep: tuple[str, ...]) -> DataFrame:
    """(*keep, indices, counts): sorted distinct positions of each user's tokens in `vocab`
    ("<family>\\t<token>") and how often each occurs in the user's texts."""
    schema = (texts.select(*keep).schema.add("indices", ArrayType(IntegerType()))
              .add("counts", ArrayType(IntegerType())))
    vocab, keep = list(vocab), tuple(keep)
    return texts.mapInArrow(lambda it: _index_partition(it, vocab, keep), schema)


def _token_partition(batches, families):
    import pyarrow as pa

    from udfs.tokenizer import token_table

    for batch in batches:
        table = token_table(batch, families)
        ids = batch.column("user_id").take(table["row"])
        yield from pa.table({"user_id": ids, "family": table["family"], "token": table["token"]}).to_batches()


def user_tokens(texts: DataFrame, families) -> DataFrame:
    """(user_id, family, token): one row per user and distinct token (for tests and inspection)."""
    fams = tuple(families)
    family_codes(fams)
    return texts.mapInArrow(lambda it: _token_partition(it, fams), "user_id long, family string, token string")
