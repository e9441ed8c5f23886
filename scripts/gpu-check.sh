#!/usr/bin/env bash
# The torch engine on an NVIDIA GPU, checked on a machine that has the GPU and a CUDA build of
# torch in Python but possibly no Node.js and no network:
#
#   here (any machine with the project installed):   scripts/gpu-check.sh pack
#       writes .gpu-carry/: node.xz (this machine's Node binary, compressed) and
#       node_modules.tar.xz (the runtime and test dependencies, without the browser, notebook
#       and figure-export packages the check does not use). Carry .gpu-carry/ with the checkout.
#   there (the GPU machine, in the checkout):       scripts/gpu-check.sh run
#       unpacks them if there is no node, builds the addon against that machine's CUDA torch
#       (python3 -c "import torch"), runs the torch kernel conformance and the torch/wasm
#       trajectory test on cuda, and the train benchmark on cuda beside PyTorch on cuda.
#       Output also goes to ${OUT:-.gpu-carry}/gpu-check.log.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.gpu-carry

pack() {
  mkdir -p "$CARRY"
  echo "packing Node $(node --version) and node_modules into $CARRY/ ..."
  xz -T0 -6 -c "$(command -v node)" > "$CARRY/node.xz"
  tar -C . -cJf "$CARRY/node_modules.tar.xz" \
    --exclude='node_modules/@sparticuz' --exclude='node_modules/playwright-core' --exclude='node_modules/zeromq' \
    --exclude='node_modules/@tslab' --exclude='node_modules/tslab' --exclude='node_modules/plotly.js-dist-min' \
    --exclude='node_modules/@tensorflow/tfjs-node*' --exclude='*.map' \
    node_modules
  du -sh "$CARRY"/*
  echo "carry $CARRY/ (the device tool: add it to .git/info/exclude and name it in carry), then run: scripts/gpu-check.sh run"
}

run() {
  local out="${OUT:-$CARRY}"
  mkdir -p "$out"
  exec > >(tee "$out/gpu-check.log") 2>&1
  if ! command -v node >/dev/null; then
    if [ -f "$CARRY/node.xz" ]; then
      mkdir -p /tmp/gpu-node/bin && xz -dc "$CARRY/node.xz" > /tmp/gpu-node/bin/node && chmod +x /tmp/gpu-node/bin/node
      export PATH="/tmp/gpu-node/bin:$PATH"
    else
      echo "no node here: run 'scripts/gpu-check.sh pack' on a machine with the project installed and carry $CARRY/"; exit 2
    fi
  fi
  if [ ! -d node_modules/@tensorflow/tfjs-core ]; then
    [ -f "$CARRY/node_modules.tar.xz" ] || { echo "no node_modules here and none packed in $CARRY/"; exit 2; }
    tar -xJf "$CARRY/node_modules.tar.xz"
  fi
  echo "== node $(node --version); GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
  python3 -c "import torch; print('== python torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
  python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || { echo "python3's torch sees no GPU"; exit 2; }
  echo "== building the addon against python3's CUDA torch"
  node scripts/build-native.mjs --strict --force
  node node_modules/typescript/bin/tsc -p tsconfig.json
  export UNPAIRED_DEVICE=cuda UNPAIRED_REQUIRE_TORCH=1 UNPAIRED_PYTHON="$(command -v python3)"
  node dist/cli.js doctor
  echo "== torch kernel conformance on cuda, and the torch/wasm trajectory test"
  node --import tsx --import ./test/setup.ts --test test/torch-kernels.test.ts test/training/torch-trajectory.test.ts 2>&1 | grep -E '^# (pass|fail|skip)|^not ok|^    not ok|error:' || true
  echo "== train benchmark: the kit on cuda vs PyTorch on cuda"
  npx tsx bench/run.ts train --backends torch --threads "$(nproc)" --steps 10 --warmup 3
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *) echo "usage: scripts/gpu-check.sh pack | run"; exit 2 ;;
esac
