#!/bin/sh
# Before removing HIRC Desk: stop starting uploads at login (the desk's data
# stay where they are).
set -e
if [ "$1" = "remove" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl --global disable hirc-desk-sync.service >/dev/null 2>&1 || true
fi
exit 0
