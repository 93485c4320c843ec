/* ai_protocols.h - the wire protocols of the AI providers, listed once.
 * Private to libsm: each is `const sm_ai_protocol sm_ai_protocol_<name>`
 * in ai_<name>.c; the provider table in ai.c names one per provider.
 * Adding a vendor that speaks a listed protocol is one row in ai.c; a new
 * protocol is one file and one entry here. */
#ifndef SM_LIB_AI_PROTOCOLS_H
#define SM_LIB_AI_PROTOCOLS_H

#include "sm/ai.h"

#define SM_AI_PROTOCOL_LIST(X)                                                                     \
	X(openai)                                                                                  \
	X(claude)                                                                                  \
	X(gemini)                                                                                  \
	X(ollama)

#define SM_AI_PROTOCOL_DECLARE(name) extern const sm_ai_protocol sm_ai_protocol_##name;
SM_AI_PROTOCOL_LIST(SM_AI_PROTOCOL_DECLARE)
#undef SM_AI_PROTOCOL_DECLARE

#endif
