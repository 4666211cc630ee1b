/* SPDX-License-Identifier: ISC */
/*
 * pin_prompt: asks the officer for a token's user PIN on the terminal
 * (echo off) and hands it to the hsm layer as a struct hsm_pin, so that the
 * PIN stays in locked (sodium_malloc'd) memory from the keyboard to
 * C_Login.
 */
#ifndef PIN_PROMPT_H
#define PIN_PROMPT_H

struct hsm_pin;

/*
 * pin_prompt reads one line from /dev/tty without echo into sodium memory
 * and returns it in *out; the caller frees it with hsm_pin_destroy, which
 * wipes it. CA_ERR_UNSUPPORTED when there is no terminal, CA_ERR_CANCELLED
 * for an empty line, CA_ERR_INVALID for a PIN longer than 256 bytes.
 */
int pin_prompt(struct hsm_pin **out, const char *token)
    __attribute__((warn_unused_result));

#endif /* PIN_PROMPT_H */
