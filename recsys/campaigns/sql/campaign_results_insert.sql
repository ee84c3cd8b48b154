insert into recs.campaign_results (
    campaign, send_date, metric, comparison, n_treatment, n_control, treatment, control, effect,
    ci_lower, ci_upper, rel_effect, p_value, confidence_level, covariate, srm_p_value, srm_flag,
    window_closed, as_of_date
)
values (
    %(campaign)s, %(send_date)s, %(metric)s, %(comparison)s, %(n_treatment)s, %(n_control)s, %(treatment)s,
    %(control)s, %(effect)s, %(ci_lower)s, %(ci_upper)s, %(rel_effect)s, %(p_value)s, %(confidence_level)s,
    %(covariate)s, %(srm_p_value)s, %(srm_flag)s, %(window_closed)s, %(as_of_date)s
)
