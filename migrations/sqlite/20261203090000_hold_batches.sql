-- PostgreSQL's migration of this version adds `place_holds`, which places a
-- batch of holds in one statement. SQLite has one writer and no stored
-- functions: it places each hold with the statements in
-- booking/src/db/place/sqlite.rs, so there is nothing to add here. The file
-- keeps the two folders' versions the same.
select 1;
