#!/bin/bash
# Metadata initialisation after an upgrade (the guide's `bash /root/docker_init.sh`): migrates
# the rm and cm databases and this region's heartbeat database to the image's version.
# The OMS simulator does the work; logs go to /home/admin/logs/docker_init.log.
exec /bin/omssim init "$@"
