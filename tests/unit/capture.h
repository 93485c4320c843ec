/* capture.h - capture what a block of code writes to stderr (tests only). */
#ifndef SM_CAPTURE_H
#define SM_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct capture {
	int fds[2];
	int saved;
	char text[8192];
};

static inline void capture_start(struct capture *c, int fd)
{
	if (pipe(c->fds) < 0)
		abort();
	fflush(NULL);
	c->saved = dup(fd);
	dup2(c->fds[1], fd);
	close(c->fds[1]);
}

static inline const char *capture_end(struct capture *c, int fd)
{
	ssize_t n;

	fflush(NULL);
	dup2(c->saved, fd);
	close(c->saved);
	n = read(c->fds[0], c->text, sizeof c->text - 1);
	close(c->fds[0]);
	c->text[n > 0 ? n : 0] = '\0';
	return c->text;
}

#endif
