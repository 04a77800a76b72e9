/**
 * The ejabberd commands of group chat (seed 000, H21–H25), over the room service (`api.ts`):
 * ejabberd's option names and argument shapes are mapped here and nowhere else.
 */
import { commandsIn } from '../../admin/define.js';
import type { CommandContext } from '../module.js';
import type { RoomService } from './api.js';

type Context = CommandContext<RoomService, 'accounts'>;
const command = commandsIn<Context>();
void command;

export const mucCommands = [] as const;
