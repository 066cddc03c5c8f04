/*
 * advise — the advise service (port 8003, CONTRACT §7): its route table and handlers.
 * The answers come from the design module; this folder parses requests and replies.
 *
 *     artistry serve advise        // ARTISTRY_KB_DIR selects the knowledge base
 */
#ifndef ARTISTRY_ADVISE_H
#define ARTISTRY_ADVISE_H

#include "http/http.h"

extern const http_service advise_service;

#endif
