-- Avatars: the public URL path of the uploaded image under /media/ (nginx serves the files).
ALTER TABLE users ADD COLUMN avatar text NULL;
