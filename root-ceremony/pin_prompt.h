/* SPDX-License-Identifier: ISC */
/*
 * pin_prompt: asks the officer for a token's user PIN on the terminal
 * (echo off) and hands it on as an anonymous 0600 memory file, so that the
 * hsm layer can read it as "file:/proc/self/fd/N" (hsm/ takes PINs only
 * from files and the environment).
 */
#ifndef PIN_PROMPT_H
#define PIN_PROMPT_H

/*
 * pin_prompt reads one line from /dev/tty without echo and returns, in
 * *fd_out, a memfd holding it. CA_ERR_UNSUPPORTED when there is no
 * terminal, CA_ERR_CANCELLED for an empty line. Close the descriptor with
 * pin_prompt_close, which also empties the file.
 */
int pin_prompt(int *fd_out, const char *token)
    __attribute__((warn_unused_result));

/* pin_prompt_close empties and closes fd; -1 does nothing. */
void pin_prompt_close(int fd);

#endif /* PIN_PROMPT_H */
