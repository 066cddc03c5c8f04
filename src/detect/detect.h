/*
 * detect — the service on port 8001 (CONTRACT.md §5): furniture in a room photo with a
 * YOLO model (vision/yolo). `POST /detect` takes JSON with a raw base64 image and the
 * thresholds; `POST /detect/` takes a multipart `file` and answers the frontend's
 * parallel arrays with an annotated JPEG. `GET /` and `/health` say which model runs,
 * where, at what input size and precision, and whether it is loaded.
 *
 * Configuration (environment or detect.env): MODEL_PATH (default
 * $ARTISTRY_MODELS/yolov8n.onnx), DETECT_PRELOAD, DETECT_INTERIOR_FILTER, CONF_THRESHOLD,
 * IOU_THRESHOLD, DEVICE, DETECT_THREADS, DETECT_PRECISION, DETECT_NAMES,
 * DETECT_CACHE_SIZE, DETECT_CACHE_BYTES (docs/detect.md).
 */
#ifndef ARTISTRY_DETECT_H
#define ARTISTRY_DETECT_H

#include "http/http.h"

extern const http_service detect_service;

#endif
