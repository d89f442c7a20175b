-- What Supabase provides and plain Postgres lacks: the API roles, the `auth` schema and `auth.uid()`.
--
-- Every statement is guarded, so on Supabase (where all of this exists, owned by Supabase's own roles)
-- this migration changes nothing, and on plain Postgres (tests, Heroku, one box) it is safe to run again.
-- The app runs a user's queries in a transaction with
--     select set_config('request.jwt.claims', '{"sub": "<user id>", ...}', true);
--     set local role authenticated;
-- exactly as Supabase's Data API does, so the RLS policies of the later migrations apply unchanged.

do $$
begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
        -- Only a superuser may create a BYPASSRLS role (PostgreSQL 15). The app never uses
        -- service_role on plain Postgres (the server runs as the tables' owner), so do without.
        if (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
            create role service_role nologin noinherit bypassrls;
        else
            create role service_role nologin noinherit;
            raise notice 'service_role created without BYPASSRLS: only a superuser can grant it';
        end if;
    end if;
end
$$;

-- The role that runs the migrations (and, on plain Postgres, the app) must be able to `set role` to
-- the API roles. A superuser always can; anyone else needs membership.
do $$
declare
    api_role text;
begin
    foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
        if not pg_catalog.pg_has_role(current_user, api_role, 'MEMBER') then
            execute pg_catalog.format('grant %I to %I', api_role, current_user);
        end if;
    end loop;
end
$$;

create schema if not exists auth;

do $$
begin
    -- Supabase's own definitions, which also accept the older per-claim settings.
    -- An empty setting (left behind by a transaction-local set_config) means "no claims", not an error.
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                   where n.nspname = 'auth' and p.proname = 'uid') then
        create function auth.uid() returns uuid
            language sql stable
        as $fn$
            select nullif(
                coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
                ),
                ''
            )::uuid
        $fn$;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                   where n.nspname = 'auth' and p.proname = 'role') then
        create function auth.role() returns text
            language sql stable
        as $fn$
            select nullif(
                coalesce(
                    nullif(current_setting('request.jwt.claim.role', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
                ),
                ''
            )::text
        $fn$;
    end if;
    if not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                   where n.nspname = 'auth' and p.proname = 'jwt') then
        create function auth.jwt() returns jsonb
            language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $fn$;
    end if;
end
$$;

-- Usage on the schemas the policies touch; skipped where already granted (as on Supabase, where
-- the `auth` schema belongs to another role).
do $$
declare
    api_role text;
    schema_name text;
begin
    foreach schema_name in array array['public', 'auth'] loop
        foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
            if not pg_catalog.has_schema_privilege(api_role, schema_name, 'USAGE') then
                execute pg_catalog.format('grant usage on schema %I to %I', schema_name, api_role);
            end if;
        end loop;
    end loop;
end
$$;
