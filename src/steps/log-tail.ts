// How many log lines the logs check reads: the seed's `docker compose logs --tail 50`.
export const LOG_TAIL = 50;
