# policy/: the admission-rule language and rule-set evaluator.
noinst_LIBRARIES += policy/libnsregpolicy.a
policy_libnsregpolicy_a_SOURCES =
