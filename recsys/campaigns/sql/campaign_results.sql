select campaign, send_date, metric, comparison, n_treatment, n_control, treatment, control, effect,
    ci_lower, ci_upper, rel_effect, p_value, srm_p_value, srm_flag, window_closed
from recs.campaign_results
order by campaign, send_date, metric, comparison
