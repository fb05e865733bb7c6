"""Each customer's inputs (the numeric contract columns, float32), kept apart from the
period table in LZ4-compressed blocks of ``INPUT_BLOCK_ROWS`` consecutive rows.

A row's ``row_id`` is ``(chunk << 32) + position`` (its position in the chunk sorted by
id), so its block is ``row_id // INPUT_BLOCK_ROWS`` and its place in the block
``row_id % INPUT_BLOCK_ROWS``: no column points from a row to its inputs. Measured with a
one-off script on this machine, 7.2 M rows into a SQLite WAL file: 22.0 s with 104 bytes
of inputs in every row (index included), 16.8 s with them apart uncompressed in 64-row
blocks, 13.1 s without them; the contract's counts and months compress to about a fifth
with LZ4 (0.05 s a 250,000-row chunk), so the blocks cost little more than nothing.

A block is ``<rows:u16><width:u16>`` and the LZ4 frame of its ``rows x width`` float32
values (row-major: a row's inputs are one slice).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from itertools import pairwise

import numpy as np
import pyarrow as pa

#: Rows per block: a lookup decompresses one block (64 x 26 x 4 bytes: about 1 us).
INPUT_BLOCK_ROWS = 64
#: Bits of a row id below its chunk's number.
CHUNK_SHIFT = 32
_HEADER = struct.Struct("<HH")
#: One codec object for every call: its one-shot compress and decompress keep no state (a
#: decompressor is made per call), so threads share it; saves the lookup by name per call.
_CODEC = pa.Codec("lz4")


def first_row_id(chunk_index: int) -> int:
    """The row id of a chunk's first row (a multiple of the block size)."""
    return chunk_index << CHUNK_SHIFT


def encode_blocks(inputs: np.ndarray) -> list[bytes]:
    """A chunk's inputs (rows in row-id order) as blocks of ``INPUT_BLOCK_ROWS`` rows."""
    values = np.ascontiguousarray(inputs, dtype="<f4")
    width = values.shape[1]
    out = []
    for start in range(0, len(values), INPUT_BLOCK_ROWS):
        block = values[start : start + INPUT_BLOCK_ROWS]
        packed = _CODEC.compress(block.tobytes(), asbytes=True)
        out.append(_HEADER.pack(len(block), width) + packed)
    return out


def _unpacked(blob: bytes) -> tuple[bytes, int]:
    """A block's float32 bytes and its row width."""
    rows, width = _HEADER.unpack_from(blob)
    raw = _CODEC.decompress(
        memoryview(blob)[_HEADER.size :], decompressed_size=rows * width * 4, asbytes=True
    )
    return raw, width


def decode_block(blob: bytes) -> np.ndarray:
    """A block's inputs, ``(rows, width)`` float32."""
    raw, width = _unpacked(blob)
    return np.frombuffer(raw, dtype="<f4").reshape(-1, width)


def inputs_expression(table: str, alias: str, block_rows: int | None) -> str:
    """SQL for what a row of ``table`` (as ``alias``) keeps of its inputs: its block, or,
    in a period written before the inputs were kept apart (``block_rows`` None), its own
    ``inputs`` column. ``stored_inputs`` turns either into the row's bytes."""
    if block_rows is None:
        return f"{alias}.inputs"
    return f"(SELECT b.data FROM {table}_inputs b WHERE b.block = {alias}.row_id / {block_rows})"


def stored_inputs(value: bytes, row_id: int, block_rows: int | None) -> bytes:
    """One row's inputs as little-endian float32 bytes, from what ``inputs_expression``
    read."""
    if block_rows is None:
        return bytes(value)
    raw, width = _unpacked(value)  # a slice of bytes, no array: the lookup's hot path
    start = (int(row_id) % block_rows) * width * 4
    return raw[start : start + width * 4]


def rows_of_blocks(
    blocks: Mapping[int, bytes], row_ids: Sequence[int], block_rows: int
) -> np.ndarray:
    """The inputs of ``row_ids`` (each in one of ``blocks``, keyed by block number), as a
    float32 matrix in the order of ``row_ids``: each block decoded once."""
    ids = np.asarray(row_ids, dtype=np.int64)
    if not len(ids):
        return np.empty((0, 0), dtype=np.float32)
    order = np.argsort(ids, kind="stable")
    numbers = ids[order] // block_rows
    bounds = [0, *(np.flatnonzero(np.diff(numbers)) + 1).tolist(), len(ids)]
    out: np.ndarray | None = None
    for begin, end in pairwise(bounds):
        matrix = decode_block(bytes(blocks[int(numbers[begin])]))
        if out is None:
            out = np.empty((len(ids), matrix.shape[1]), dtype=np.float32)
        rows = order[begin:end]
        out[rows] = matrix[ids[rows] % block_rows]
    assert out is not None
    return out
