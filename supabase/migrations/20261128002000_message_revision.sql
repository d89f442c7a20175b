-- A message's revision: +1 on every edit, reaction and delete, so that a rendering cached for an older
-- revision (its body_html, its page fragment) is known to be stale.
alter table public.messages add column revision integer not null default 1;
grant update (revision) on public.messages to authenticated;

-- A person moves a revision on by one with an edit or a delete (the other guards say who may); reactions
-- move it on through a security-definer trigger. It never goes back or jumps.
create or replace function public.messages_revision_guard() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if new.revision is distinct from old.revision and new.revision is distinct from old.revision + 1 then
        raise exception 'a revision moves on by one'
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;

create trigger messages_revision_guard
    before update on public.messages
    for each row
    when (current_user = 'authenticated')
    execute function public.messages_revision_guard();

revoke all on function public.messages_revision_guard() from public, anon, authenticated;
