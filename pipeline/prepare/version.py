"""The version of what preparation writes. Part of the settings fingerprint (pipeline.plan), which keys
the staged chunks and the reused answers: bump it whenever a change to pipeline/prepare or the media
code it drives changes the prepared bytes or what is sent with them, so sources prepared before the
change are prepared (and asked) again instead of being reused.

History: 1 (unversioned) up to the HDR tone map and the non-square pixel fix; 2 subtitles sent with
their chunks; 3 holes over 10 s in a TS/PS/FLV kept on the source's timeline (ffmpeg closed them up),
files cut within their last 5 s prepared up to where they decode, and a container long by its other
tracks planned for its picture and sound.
"""

PREPARATION_VERSION = 3
