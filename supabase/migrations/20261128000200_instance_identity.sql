-- This database's identity: a random id made once. The live delivery names everything it keeps in
-- Redis under it, so two databases sharing one Redis (a reset development database, staging and
-- production on one add-on) never mistake each other's keys for their own. Only the server reads it: RLS on, no policy, nothing granted to anon or authenticated.
create table public.chat_instance (
    id uuid primary key,
    created_at timestamptz not null
);

insert into public.chat_instance (id, created_at) values (gen_random_uuid(), now());

alter table public.chat_instance enable row level security;
revoke all on table public.chat_instance from public, anon, authenticated;
grant all on table public.chat_instance to service_role;
