"""Sans-I/O ingest: request bodies and parameters in, events out. No sockets, files or clocks."""

from millpond.ingest.uploadlogs import UploadParams, session_id_for, split_lines, upload_params

__all__ = ["UploadParams", "session_id_for", "split_lines", "upload_params"]
