"""The Qt-free engine: reading notes, chunking, embedding, storage, search and indexing."""
