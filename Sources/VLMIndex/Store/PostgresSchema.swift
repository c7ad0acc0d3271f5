import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL schema: the same tables as the SQLite index (fp16 embeddings and float64 pts as `bytea`), its
/// version in `vlm_schema`, migrated in order under an advisory lock.
enum PostgresSchema {
    /// The advisory lock key of migrations ("VLMI").
    static let lockKey: Int64 = 0x564C_4D49

    /// Migrations by version (index + 1); each runs in one transaction.
    static let migrations: [String] = [
        """
        CREATE TABLE index_info (key text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE video (
            id bigserial PRIMARY KEY,
            path text NOT NULL UNIQUE,
            size bigint NOT NULL,
            checksum text NOT NULL,
            duration double precision,
            model text NOT NULL,
            fps double precision NOT NULL,
            complete boolean NOT NULL DEFAULT false,
            captioned boolean NOT NULL DEFAULT false,
            frame_count bigint NOT NULL DEFAULT 0,
            indexed_at double precision NOT NULL
        );
        CREATE TABLE chunk (
            id bigserial PRIMARY KEY,
            video_id bigint NOT NULL REFERENCES video(id) ON DELETE CASCADE,
            first_pts double precision NOT NULL,
            last_pts double precision NOT NULL,
            frame_count integer NOT NULL,
            pts bytea NOT NULL,
            embeddings bytea NOT NULL,
            UNIQUE (video_id, first_pts)
        );
        CREATE TABLE caption (
            id bigserial PRIMARY KEY,
            video_id bigint NOT NULL REFERENCES video(id) ON DELETE CASCADE,
            start double precision NOT NULL,
            "end" double precision NOT NULL,
            text text NOT NULL,
            score double precision NOT NULL
        );
        CREATE INDEX caption_video ON caption(video_id, start);
        INSERT INTO index_info (key, value) VALUES ('revision', '0')
        """,
        // v2: the job queue of `index --enqueue` / `worker` (PostgreSQL only: one machine needs no queue).
        """
        CREATE TABLE job (
            id bigserial PRIMARY KEY,
            input text NOT NULL UNIQUE,
            state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
            worker text,
            lease_until timestamptz,
            attempts integer NOT NULL DEFAULT 0,
            last_error text,
            started_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now(),
            frames bigint NOT NULL DEFAULT 0,
            fps double precision NOT NULL DEFAULT 0
        );
        CREATE INDEX job_claim ON job(state, id)
        """,
        // v3: a random identity of this database, so a local copy of its embeddings is never taken for the copy
        // of another database reached by the same URL (dropped and created again).
        """
        INSERT INTO index_info (key, value) VALUES ('instance', md5(random()::text || clock_timestamp()::text))
        ON CONFLICT (key) DO NOTHING
        """,
        // v4: which captioner wrote a video's captions, and each caption's text embedding (fp16) for search.
        """
        ALTER TABLE video ADD COLUMN captioner text;
        ALTER TABLE caption ADD COLUMN embedding bytea
        """,
    ]

    /// Brings the database to the newest schema; refuses a database of another program or a newer vlm-stream.
    static func migrate(_ connection: PostgresConnection, logger: Logger, location: String) throws {
        func run(_ query: PostgresQuery) throws -> [PostgresRandomAccessRow] {
            do {
                return try PostgresWait.value(connection.query(query, logger: logger)).rows.map {
                    $0.makeRandomAccess()
                }
            } catch {
                throw PostgresStore.translate(error, location: location)
            }
        }
        _ = try run("SELECT pg_advisory_lock(\(lockKey))")
        defer { _ = try? run("SELECT pg_advisory_unlock(\(lockKey))") }
        let state = try run(
            """
            SELECT to_regclass('vlm_schema') IS NOT NULL,
                   (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema())
            """)
        guard let row = state.first else { return }
        let versioned = try row[0].decode(Bool.self)
        let tables = try row[1].decode(Int64.self)
        if !versioned {
            guard tables == 0 else { throw IndexError.foreignDatabase(path: location) }
            _ = try run("CREATE TABLE IF NOT EXISTS vlm_schema (version integer NOT NULL)")
        }
        let applied = Int(try run("SELECT coalesce(max(version), 0) FROM vlm_schema").first?[0].decode(Int32.self) ?? 0)
        if applied > migrations.count { throw IndexError.newerSchema(path: location, version: applied) }
        for version in (applied + 1)...max(applied + 1, migrations.count) where version <= migrations.count {
            _ = try run("BEGIN")
            do {
                // Constant DDL (no values), one statement at a time.
                for statement in migrations[version - 1].components(separatedBy: ";\n")
                where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    _ = try run(PostgresQuery(unsafeSQL: statement))
                }
                _ = try run("INSERT INTO vlm_schema (version) VALUES (\(Int32(version)))")
                _ = try run("COMMIT")
            } catch {
                _ = try? run("ROLLBACK")
                throw PostgresStore.translate(error, location: location)
            }
        }
    }
}
