/* runstat.c - run a command N times and print the mean CPU time (user +
 * system), the mean wall time and the peak RSS of the runs, read exactly
 * with wait4(2). A small C parent matters: a child forked from a large
 * process (Python) starts with that process's RSS and reports it as its peak.
 * Output: "cpu_ms wall_ms maxrss_kib". Built by bench/check.sh.
 * With RUNSTAT_STDIN=FILE each run reads FILE on its standard input (a CGI
 * request body). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	double cpu = 0, wall = 0;
	long peak = 0;
	int n;

	if (argc < 3 || (n = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: runstat N CMD [ARG...]\n");
		return 64;
	}
	for (int i = 0; i < n; i++) {
		struct timespec t0, t1;
		struct rusage ru;
		int status;
		pid_t pid;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			const char *in = getenv("RUNSTAT_STDIN");

			if (in) {
				int fd = open(in, O_RDONLY);
				if (fd < 0)
					_exit(127);
				dup2(fd, 0);
			}
			dup2(null, 1);
			dup2(null, 2);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		if (wait4(pid, &status, 0, &ru) < 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
			fprintf(stderr, "runstat: cannot run %s\n", argv[2]);
			return 1;
		}
		wall +=
		    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		cpu += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
		if (ru.ru_maxrss > peak)
			peak = ru.ru_maxrss;
	}
	printf("%.2f %.2f %ld\n", cpu / n, wall / n, peak);
	return 0;
}
