#!/bin/sh
# V4.2.3 -> V4.1.0 metadata rollback (the guide's docker_oms_ce_version_roll_back.sh), run
# inside the V4.2.3 container once per region before the V4.1.0 container is started again.
# Prints "[Completed] All initialization steps are executed." on success.
exec /bin/omssim rollback-410 "$@"
