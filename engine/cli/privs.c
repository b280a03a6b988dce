/* privs.c — dropping root once the capture is open (-Z USER, default nobody for a live capture
 * started as root): supplementary groups, then gid, then uid, each checked, as tcpdump does; and
 * handing a folder this run made to that user, for the files written after the drop. */
#include "cli/cli.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_GROUPS 256

static int same_groups(const gid_t *a, int na, const gid_t *b, int nb)
{
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb && !found; j++)
            found = a[i] == b[j];
        if (!found)
            return 0;
    }
    return 1;
}

int ms_cli_give_to_user(const char *path, const char *user, ms_err *err)
{
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return ms_fail(err, MS_EINVAL, "-Z %s: no such user", user);
    if (chown(path, pw->pw_uid, pw->pw_gid) != 0)
        return ms_fail(err, MS_EIO, "cannot give %s to user %s (files are written as that user): %s", path, user,
                       strerror(errno));
    return 0;
}

int ms_cli_drop_privileges(const char *user, ms_err *err)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return ms_fail(err, MS_EINVAL, "-Z %s: no such user%s%s", user, errno ? ": " : "",
                       errno ? strerror(errno) : "");
    /* copy what we need: later calls may overwrite getpwnam's static buffer */
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    char name[256];
    snprintf(name, sizeof name, "%s", pw->pw_name);

    /* the order matters: groups and gid can only be changed while still root */
    if (initgroups(name, gid) != 0)
        return ms_fail(err, MS_EIO, "-Z %s: cannot set its groups (initgroups): %s", user, strerror(errno));
    if (setgid(gid) != 0)
        return ms_fail(err, MS_EIO, "-Z %s: cannot set group id %u: %s", user, (unsigned)gid, strerror(errno));
    if (setuid(uid) != 0)
        return ms_fail(err, MS_EIO, "-Z %s: cannot set user id %u: %s", user, (unsigned)uid, strerror(errno));

    /* verify rather than trust: real and effective ids, the group list, and no way back */
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
        return ms_fail(err, MS_EIO, "-Z %s: ids did not change (uid %u euid %u gid %u egid %u)", user,
                       (unsigned)getuid(), (unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid());
    gid_t want[MAX_GROUPS], have[MAX_GROUPS];
    int nwant = MAX_GROUPS;
    int nhave = getgroups(MAX_GROUPS, have);
    if (getgrouplist(name, gid, want, &nwant) < 0 || nhave < 0 || !same_groups(have, nhave, want, nwant))
        return ms_fail(err, MS_EIO, "-Z %s: the supplementary groups are not that user's", user);
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return ms_fail(err, MS_EIO, "-Z %s: could switch back to root after dropping", user);
    return 0;
}
