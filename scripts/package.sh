#!/usr/bin/env bash
# Builds both functions as Lambda would run them (release, arm64, zipped),
# checks that the bootstraps need no glibc newer than Amazon Linux 2023's
# floor we promise (2.34), and prints binary and zip sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/tools/bin:$PATH"

functions=(shelver-consumer shelver-http)
max_glibc=2.34

rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu
# Stale files from earlier builds would end up in the zips.
rm -rf target/lambda
for function in "${functions[@]}"; do
  args+=(--bin "$function")
done
cargo lambda build --release --arm64 --output-format zip --locked "${args[@]}"

printf '%-18s %12s %12s %8s\n' function bootstrap zip glibc
for function in "${functions[@]}"; do
  # cargo-lambda zips the binary cargo built; the zip is what Lambda gets.
  binary=target/aarch64-unknown-linux-gnu/release/$function
  zip=target/lambda/$function/bootstrap.zip
  [[ -f "$binary" && -f "$zip" ]] || { echo "package: $binary or $zip is missing" >&2; exit 1; }
  needed=$(readelf --version-info --wide "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
  if [[ -n "$needed" ]] && [[ "$(printf '%s\n%s\n' "$needed" "$max_glibc" | sort -V | tail -n 1)" != "$max_glibc" ]]; then
    echo "package: $function needs glibc $needed, more than $max_glibc" >&2
    exit 1
  fi
  printf '%-18s %12s %12s %8s\n' "$function" \
    "$(stat -c %s "$binary")" "$(stat -c %s "$zip")" "${needed:-static}"
done
