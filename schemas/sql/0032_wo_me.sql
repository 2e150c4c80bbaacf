-- 0032: who the caller is, for clients that adapt to it (the web console,
-- docs/CONSOLE.md): request `me` on eco/v1/rpc/dispatch/me/{caller}.
--
-- The answer only describes; eco-dispatch still decides every request by
-- the caller's role and department (wo.rpc). A caller that is not an active
-- person account is refused as wo.rpc refuses it.
CREATE FUNCTION wo.me(p_caller text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    w record;
BEGIN
    w := wo.who(p_caller);
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'ok', true, 'user', p_caller, 'role', w.role, 'dept', w.dept,
        'dept_name', (SELECT d.name FROM core.department d WHERE d.code = w.dept),
        'work_orders', w.role IN ('dispatcher', 'admin', 'department')));
EXCEPTION WHEN raise_exception THEN
    RETURN jsonb_build_object('ok', false, 'error', SQLERRM);
END
$$;

COMMENT ON FUNCTION wo.me(text) IS
    'request `me` of eco-dispatch: the caller''s role and department (what a client may offer)';

GRANT EXECUTE ON FUNCTION wo.me(text) TO eco_dispatch;
