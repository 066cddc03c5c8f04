#include "core/core.h"

#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The keyed hash: stable within a process, its key drawn per process (a child that
 * hashes first draws its own), and not the unkeyed hash. */
Test(hash, keyed_is_stable_here_and_different_elsewhere)
{
    const char photo[] = "the bytes of a photo";
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        uint64_t k = hash64_keyed(photo, sizeof photo);
        _exit(write(fd[1], &k, sizeof k) == sizeof k ? 0 : 1);
    }
    uint64_t theirs = 0;
    cr_assert_eq(read(fd[0], &theirs, sizeof theirs), (ssize_t)sizeof theirs);
    int status;
    waitpid(child, &status, 0);
    uint64_t ours = hash64_keyed(photo, sizeof photo);
    cr_assert_eq(ours, hash64_keyed(photo, sizeof photo));
    cr_assert_neq(ours, theirs, "two processes share a key");
    cr_assert_neq(ours, hash64(photo, sizeof photo));
    char other[sizeof photo];
    memcpy(other, photo, sizeof photo);
    other[3] ^= 1;
    cr_assert_neq(ours, hash64_keyed(other, sizeof other));
    cr_assert_neq(hash64_keyed(photo, 0), hash64_keyed(photo, 1));
}
