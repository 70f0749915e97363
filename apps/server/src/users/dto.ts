import type { UserDto } from '@personas/contracts';
import type { UserRow } from '../db/schema';

/** The public shape of a user: never the password hash. */
export function toUserDto(user: UserRow): UserDto {
  return {
    user_id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    created_at: user.created_at.toISOString(),
    daily_token_limit: user.daily_token_limit,
  };
}
