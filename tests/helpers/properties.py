"""How many examples a Hypothesis property tries: its full number in CI (.ci/run), before a release and in a run by
hand; a third of it (at least 8) in a developer's `bash scripts/test.sh`, which sets VSB_TEST_PROFILE=dev
(docs/testing.md). The examples are derandomized: the dev run tries the first of CI's, and every @example."""

from __future__ import annotations

import os


def examples(full: int) -> int:
    return max(8, full // 3) if os.environ.get("VSB_TEST_PROFILE") == "dev" else full
