-- No JIT compilation for this database's sessions. Postgres compiles a query with LLVM once its estimated
-- cost passes `jit_above_cost` (100,000), a figure of the plan, not of the work: the fan-out's query of
-- members' own views for a batch of many conversations is estimated at over a million (a subquery per
-- member, for thousands of estimated rows) and ran in ~10 ms, after ~700 ms of compiling. Under a steady
-- 100 messages a second that compiling was most of the database's time, and the relay, which holds its
-- conversations' locks meanwhile, fell seconds behind. Every query of this app is short; none gains from JIT.
--
-- A database setting reaches every new session, through any pooler. Changing it takes the database's owner;
-- where whoever runs the migrations is not, their own role's sessions (the app's login) go without instead.
do $$
begin
    execute format('alter database %I set jit = off', current_database());
exception when insufficient_privilege then
    execute format('alter role %I set jit = off', current_user);
end
$$;
