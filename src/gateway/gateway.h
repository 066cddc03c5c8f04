/*
 * gateway — the service on port 8000 in front of the others: health, accounts and saved
 * designs, preferences, and the proxies to the ML and commerce services.
 */
#ifndef ARTISTRY_GATEWAY_H
#define ARTISTRY_GATEWAY_H

#include "http/http.h"

extern const http_service gateway_service;

#endif
