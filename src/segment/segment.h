/*
 * segment — the service on port 8002 (CONTRACT.md §6): MobileSAM masks for box prompts
 * (POST /segment, JSON) and for a grid of point prompts with a coloured overlay
 * (POST /segment/, multipart), GET / and /health. docs/segment.md has the details.
 */
#ifndef ARTISTRY_SEGMENT_H
#define ARTISTRY_SEGMENT_H

#include "http/http.h"

extern const http_service segment_service;

#endif
