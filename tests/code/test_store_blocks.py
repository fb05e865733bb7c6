"""The inputs' blocks: what goes in comes out, row by row (pure)."""

from __future__ import annotations

import numpy as np

from segmentation.store.blocks import (
    INPUT_BLOCK_ROWS,
    decode_block,
    encode_blocks,
    first_row_id,
    rows_of_blocks,
    stored_inputs,
)


def test_blocks_keep_every_row_and_a_short_last_block() -> None:
    rows = 2 * INPUT_BLOCK_ROWS + 5
    inputs = np.random.default_rng(0).random((rows, 26)) * 100
    blocks = encode_blocks(inputs)
    assert [len(decode_block(b)) for b in blocks] == [INPUT_BLOCK_ROWS, INPUT_BLOCK_ROWS, 5]
    first = first_row_id(3)
    keyed = {(first // INPUT_BLOCK_ROWS) + i: blob for i, blob in enumerate(blocks)}
    row_ids = [first + i for i in range(rows)]
    assert np.array_equal(rows_of_blocks(keyed, row_ids, INPUT_BLOCK_ROWS), inputs.astype("<f4"))
    row = INPUT_BLOCK_ROWS + 7
    stored = stored_inputs(keyed[(first + row) // INPUT_BLOCK_ROWS], first + row, INPUT_BLOCK_ROWS)
    assert stored == inputs[row].astype("<f4").tobytes()


def test_counts_compress_well() -> None:
    """The contract's counts and months are small whole numbers: a block is a fraction of
    its raw size (the point of keeping them compressed)."""
    counts = np.random.default_rng(1).poisson(0.5, size=(INPUT_BLOCK_ROWS, 26)).astype(float)
    (blob,) = encode_blocks(counts)
    assert len(blob) < 0.5 * counts.size * 4


def test_a_row_of_the_earlier_layout_is_its_own_bytes() -> None:
    raw = np.arange(26, dtype="<f4").tobytes()
    assert stored_inputs(raw, 12345, None) == raw
