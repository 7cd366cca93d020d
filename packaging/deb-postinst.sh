#!/bin/sh
# After installing HIRC Desk: start uploads at every user's login.
set -e
if command -v systemctl >/dev/null 2>&1; then
    systemctl --global enable hirc-desk-sync.service >/dev/null 2>&1 || true
fi
exit 0
