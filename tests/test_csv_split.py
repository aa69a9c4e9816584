"""The kit's vectorised CSV splitter against Python's csv module, the reference definition.

helpers.sources splits CSV itself (DuckDB's reader cannot give each accepted row its line in
the file). Files written by Python's csv writer, with delimiters, quotes and line breaks inside
fields, and blank lines between records, must read back as csv.reader reads them: the same
fields, and each record starting on the same line.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from helpers.sources import _split

#: Field text: delimiters, quotes and line breaks (LF and CRLF; the kit, like most tools today,
#: does not take a lone CR for a line break, so the line numbers of old-Mac files differ).
ALPHABET = list("ab xyzàé;,\"'\n5.-") + ["\r\n", "Ünïcödé", ""]


def _random_file(rng: np.random.Generator, delimiter: str) -> tuple[str, list[list[str]]]:
    n_columns = int(rng.integers(1, 6))
    rows = [["".join(rng.choice(ALPHABET, size=int(rng.integers(0, 6))))
             for _ in range(n_columns)] for _ in range(int(rng.integers(1, 12)))]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=str(rng.choice(["\n", "\r\n"])))
    for row in rows:
        if rng.random() < 0.2:
            out.write("\n")  # a blank line between records: not a record
        writer.writerow(row)
    return out.getvalue(), rows


def _reference(text: str, delimiter: str) -> tuple[list[int], list[list[str]]]:
    """csv.reader's records (blank lines dropped) and the line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines, records, start = [], [], 1
    for record in reader:
        # a line of only spaces is blank (the kit drops it, as pandas does); the writer quotes
        # a field holding a line break, and writes a lone empty field as "", so those stay
        blank = len(record) == 1 and record[0] != "" and not record[0].strip(" \t") \
            and not any(c in record[0] for c in "\r\n")
        if record and not blank:
            lines.append(start)
            records.append(record)
        start = reader.line_num + 1
    return lines, records


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_split_reads_what_the_csv_module_wrote(delimiter):
    rng = np.random.default_rng(2026)
    for _ in range(250):
        text, _ = _random_file(rng, delimiter)
        lines, counts, first, fields, _ = _split(text.encode("utf-8"), delimiter, False)
        values = fields.to_pylist()
        ours = [values[f:f + c] for f, c in zip(first, counts, strict=True)]
        expected_lines, expected = _reference(text, delimiter)
        assert ours == expected, repr(text)
        assert list(lines) == expected_lines, repr(text)
