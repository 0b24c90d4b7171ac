#!/usr/bin/env bash
# The project's test command (README.md, .ci/run). The test profile is optimised (Cargo.toml),
# so the numerical tests run at full speed with debug assertions on.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo test --workspace --locked "$@"
