#!/usr/bin/env python3
"""Dumps one video of a vlm-stream index (SQLite) as the JSON expectation IndexPipelineTests compares with.

    vlm-stream index SampleVideos/plaza.mp4 --db /tmp/x.sqlite --fps 2 --captions --model Tests/Fixtures/tiny-clip
    ${PYTHON:-python3} scripts/golden/index_expectation.py /tmp/x.sqlite plaza.mp4 > Tests/Fixtures/index-plaza-2fps.json

Frames: pts (Float64) and embeddings (fp16, widened exactly to float) in stored order; captions by start.
Standard library only.
"""
import json
import sqlite3
import struct
import sys


def main() -> None:
    db_path, name = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(db_path)
    dimension = int(db.execute("SELECT value FROM index_info WHERE key = 'dimension'").fetchone()[0])
    video_id, path, duration = next(
        row for row in db.execute("SELECT id, path, duration FROM video") if row[1].endswith("/" + name)
    )
    frames = []
    for count, pts_blob, embedding_blob in db.execute(
        "SELECT frame_count, pts, embeddings FROM chunk WHERE video_id = ? ORDER BY first_pts", (video_id,)
    ):
        pts = struct.unpack(f"<{count}d", pts_blob)
        halves = struct.unpack(f"<{count * dimension}e", embedding_blob)
        for i in range(count):
            frames.append({"pts": pts[i], "embedding": list(halves[i * dimension : (i + 1) * dimension])})
    captions = [
        {"start": s, "end": e, "text": t, "score": round(sc, 6)}
        for s, e, t, sc in db.execute(
            'SELECT start, "end", text, score FROM caption WHERE video_id = ? ORDER BY start', (video_id,)
        )
    ]
    json.dump({"video": name, "duration": duration, "frames": frames, "captions": captions}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
